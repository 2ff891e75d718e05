// dvsmith: force-included (-include) into every clang++ build of Verilator's C++.
//
// Verilator writes `ref == null` on a virtual interface or chandle as `VlNull{} == ptr` (verilated_types.h
// declares `operator==(const void*, VlNull)` and a `VlNull -> T*` conversion). In C++20, clang++ 14 finds
// that comparison ambiguous (the reversed rewritten candidate against the built-in pointer comparison)
// while g++ accepts it. These exact matches win over both and mean what Verilator means: equal to null
// when the pointer is null.
#ifndef DVSMITH_CLANG_COMPAT_H
#define DVSMITH_CLANG_COMPAT_H
struct VlNull;
template <class T>
inline bool operator==(const VlNull&, T* ptr) noexcept {
  return !ptr;
}
template <class T>
inline bool operator==(T* ptr, const VlNull&) noexcept {
  return !ptr;
}
#endif
