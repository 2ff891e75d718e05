"""files -> pyslang syntax -> facts -> classified profile. No AI, no terminal."""
