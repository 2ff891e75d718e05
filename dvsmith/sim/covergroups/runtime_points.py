# ruff: noqa: E501
"""The bins, coverpoints and crosses of ``dvsmith_fcov_pkg`` (SystemVerilog text; ``runtime.py`` puts it
into the package): a bin is a list of sequences of range sets, matched against a coverpoint's last
samples; a coverpoint builds its bins (explicit, arrays, fixed-size arrays, automatic) and counts hits;
a cross counts per tuple of its coverpoints' regular bins and groups tuples into user and automatic bins.
"""

POINTS_SV = r"""  // One bin: sequences of steps; each step a set of [lo:hi] ranges (flattened into queues).
  class bin_c;
    string name;
    int kind;
    longint hits;
    int nseq;
    int seq_len[$];
    int r_seq[$];
    int r_step[$];
    longint r_lo[$];
    longint r_hi[$];
    function new(string name, int kind);
      this.name = name;
      this.kind = kind;
    endfunction
    function void add_range(int s, int step, longint lo, longint hi);
      if (s >= nseq) begin
        nseq = s + 1;
        seq_len.push_back(0);
      end
      if (step + 1 > seq_len[s]) seq_len[s] = step + 1;
      r_seq.push_back(s);
      r_step.push_back(step);
      r_lo.push_back(lo);
      r_hi.push_back(hi);
    endfunction
    function int max_len();
      int m = 1;
      foreach (seq_len[i]) if (seq_len[i] > m) m = seq_len[i];
      return m;
    endfunction
    function bit is_transition();
      return max_len() > 1;
    endfunction
    // hist[0] is the newest sample
    function bit seq_match(longint hist[$]);
      for (int s = 0; s < nseq; s++) begin
        bit ok = (hist.size() >= seq_len[s]);
        for (int k = 0; ok && k < seq_len[s]; k++) begin
          bit inr = 0;
          longint v = hist[seq_len[s] - 1 - k];
          foreach (r_lo[i]) if (r_seq[i] == s && r_step[i] == k && v >= r_lo[i] && v <= r_hi[i]) inr = 1;
          ok = inr;
        end
        if (ok) return 1;
      end
      return 0;
    endfunction
    function bit intersects(longint lo, longint hi);
      foreach (r_lo[i]) if (!(r_hi[i] < lo || r_lo[i] > hi)) return 1;
      return 0;
    endfunction
    // remove [lo:hi] from a value bin (ignore_bins and illegal_bins values leave every other bin)
    function void subtract(longint lo, longint hi);
      longint nlo[$];
      longint nhi[$];
      foreach (r_lo[i]) begin
        if (r_hi[i] < lo || r_lo[i] > hi) begin
          nlo.push_back(r_lo[i]);
          nhi.push_back(r_hi[i]);
        end else begin
          if (r_lo[i] < lo) begin
            nlo.push_back(r_lo[i]);
            nhi.push_back(lo - 1);
          end
          if (r_hi[i] > hi) begin
            nlo.push_back(hi + 1);
            nhi.push_back(r_hi[i]);
          end
        end
      end
      r_lo = nlo;
      r_hi = nhi;
      r_seq.delete();
      r_step.delete();
      foreach (r_lo[i]) begin
        r_seq.push_back(0);
        r_step.push_back(0);
      end
    endfunction
  endclass

  class cp_c;
    string name;
    string where;
    real weight = 1.0;
    int at_least = 1;
    int auto_bin_max = 64;
    int goal = 100;
    string unsupported = "";
    bin_c bq[$];
    int hit_now[$];  // regular bins hit by the current sample (for crosses)
    longint hist[$];
    int hist_max = 1;
    bit sampled_now;
    bit is_auto;
    bit sign_known;
    bit sgn;
    int width = 32;
    string type_text = "";
    longint min_v = 0;
    longint max_v = 0;
    function new(string name, string where);
      this.name = name;
      this.where = where;
    endfunction
    function bin_c add(string name, int kind);
      bin_c b = new(name, kind);
      bq.push_back(b);
      return b;
    endfunction
    function void value_bin(string name, int kind, longint lo, longint hi);
      bin_c b = add(name, kind);
      b.add_range(0, 0, lo, hi);
    endfunction
    // bins name[] = {...}: one bin per value (first occurrence kept)
    function void array_bins(string name, int kind, longint lo[$], longint hi[$]);
      bit seen[longint];
      longint n = 0;
      foreach (lo[i]) if (hi[i] >= lo[i]) n += hi[i] - lo[i] + 1;
      if (n > MAX_ARRAY_BINS) begin
        unsupported = $sformatf("bins %s[] has %0d values (more than %0d)", name, n, MAX_ARRAY_BINS);
        return;
      end
      foreach (lo[i])
        for (longint v = lo[i]; v <= hi[i]; v++)
          if (!seen.exists(v)) begin
            seen[v] = 1;
            value_bin($sformatf("%s[%0d]", name, v), kind, v, v);
          end
    endfunction
    // bins name[N] = {...}: the values (duplicates kept) spread over N bins, the last takes the rest
    function void fixed_bins(string name, int kind, int nb, longint lo[$], longint hi[$]);
      longint total = 0;
      longint per;
      longint pos = 0;
      bin_c made[$];
      foreach (lo[i]) if (hi[i] >= lo[i]) total += hi[i] - lo[i] + 1;
      if (nb <= 0 || total == 0) return;
      if (nb > total) nb = int'(total);
      per = total / nb;
      for (int k = 0; k < nb; k++) made.push_back(add($sformatf("%s[%0d]", name, k), kind));
      foreach (lo[i]) begin
        longint a = lo[i];
        while (a <= hi[i]) begin
          int k = int'(pos / per);
          longint room;
          longint b;
          if (k >= nb) k = nb - 1;
          room = (k == nb - 1) ? (hi[i] - a + 1) : ((k + 1) * per - pos);
          b = a + room - 1;
          if (b > hi[i]) b = hi[i];
          made[k].add_range(0, 0, a, b);
          pos += b - a + 1;
          a = b + 1;
        end
      end
    endfunction
    // automatic bins over the values of a width-bit expression
    function void auto_bins();
      longint n;
      longint per;
      longint mn;
      int nb;
      is_auto = 1;
      if (type_text.len() >= 4 && type_text.substr(0, 3) == "enum") begin
        unsupported = "automatic bins of an enum coverpoint";
        return;
      end
      if (width > 63) begin
        unsupported = $sformatf("automatic bins of a %0d-bit expression", width);
        return;
      end
      n = longint'(1) << width;
      mn = sgn ? -(longint'(1) << (width - 1)) : 0;
      nb = (n < auto_bin_max) ? int'(n) : auto_bin_max;
      per = n / nb;
      bq.delete();
      for (int k = 0; k < nb; k++) begin
        longint a = mn + k * per;
        longint b = (k == nb - 1) ? (mn + n - 1) : (a + per - 1);
        if (a == b) value_bin($sformatf("auto[%0d]", a), REG, a, b);
        else value_bin($sformatf("auto[%0d:%0d]", a, b), REG, a, b);
      end
    endfunction
    function void set_type(int width, bit sgn, string type_text);
      this.width = width;
      this.sgn = sgn;
      this.type_text = type_text;
      if (width > 64 || (width == 64 && !sgn)) begin
        unsupported = $sformatf("%0d-bit %s coverpoint (at most 63 bits unsigned, 64 signed)", width, sgn ? "signed" : "unsigned");
        min_v = 0;
        max_v = -1;
      end else if (sgn) begin
        min_v = -(longint'(1) << (width - 1));
        max_v = (longint'(1) << (width - 1)) - 1;
      end else begin
        min_v = 0;
        max_v = (width == 63) ? 64'h7fffffffffffffff : ((longint'(1) << width) - 1);
      end
    endfunction
    function void range_bin(string name, int kind, longint lo[$], longint hi[$]);
      bin_c b = add(name, kind);
      foreach (lo[i]) if (lo[i] <= hi[i]) b.add_range(0, 0, lo[i], hi[i]);
      if (b.nseq == 0) b.nseq = 1;
      if (b.seq_len.size() == 0) b.seq_len.push_back(1);
    endfunction
    function void finish();
      bin_c kept[$];
      hist_max = 1;
      foreach (bq[i]) if (bq[i].max_len() > hist_max) hist_max = bq[i].max_len();
      foreach (bq[i])
        if ((bq[i].kind == IGN || bq[i].kind == ILL) && !bq[i].is_transition())
          foreach (bq[i].r_lo[r])
            foreach (bq[j])
              if (bq[j].kind == REG && !bq[j].is_transition())
                bq[j].subtract(bq[i].r_lo[r], bq[i].r_hi[r]);
      foreach (bq[i])
        if (!(bq[i].kind == REG && !bq[i].is_transition() && bq[i].r_lo.size() == 0)) kept.push_back(bq[i]);
      bq = kept;
    endfunction
    function void skip();
      hit_now.delete();
      sampled_now = 0;
    endfunction
    function void sample(bit unknown, longint v);
      bit any = 0;
      hit_now.delete();
      sampled_now = 0;
      if (unknown) return;
      sampled_now = 1;
      hist.push_front(v);
      while (hist.size() > hist_max) void'(hist.pop_back());
      foreach (bq[i]) begin
        if (bq[i].kind == DEF) continue;
        if (bq[i].seq_match(hist)) begin
          if (!bq[i].is_transition()) any = 1;
          if (bq[i].kind == ILL) illegal({where, ".", name, ".", bq[i].name}, v);
          bq[i].hits++;
          if (bq[i].kind == REG) hit_now.push_back(i);
        end
      end
      if (!any) foreach (bq[i]) if (bq[i].kind == DEF) bq[i].hits++;
    endfunction
    function int n_bins();
      int n = 0;
      foreach (bq[i]) if (bq[i].kind == REG) n++;
      return n;
    endfunction
    function int n_covered();
      int n = 0;
      foreach (bq[i]) if (bq[i].kind == REG && bq[i].hits >= at_least) n++;
      return n;
    endfunction
    function real get_coverage();
      int n = n_bins();
      return n == 0 ? 0.0 : 100.0 * n_covered() / n;
    endfunction
    function real get_inst_coverage();
      return get_coverage();
    endfunction
    function bit in_bin(int bi, string bn);
      string s;
      if (bi < 0 || bi >= bq.size()) return 0;
      s = bq[bi].name;
      if (s == bn) return 1;
      return s.len() > bn.len() && s.substr(0, bn.len() - 1) == bn && s[bn.len()] == "[";
    endfunction
    function bit intersects(int bi, longint lo, longint hi);
      if (bi < 0 || bi >= bq.size()) return 0;
      return bq[bi].intersects(lo, hi);
    endfunction
  endclass
"""
