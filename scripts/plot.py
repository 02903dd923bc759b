#!/usr/bin/python3
"""PNG figures from gkd run directories and gkd-bench output.

usage: plot.py curves RUN_DIR [-o OUT.png] [--title T]
       plot.py compare RUN_DIR [RUN_DIR ...] [-o OUT.png] [--title T]
       plot.py roofline BENCH_OUTPUT.txt [--peak-gbs X] [--peak-gflops Y] [-o OUT.png] [--title T]

curves    validation accuracy and training loss per epoch, from RUN_DIR/metrics.jsonl of a
          `gkd train` or `gkd distill` run: one line per run (train) or per role and run
          (distill: student0.., baseline, teacher). Online cohorts log no per-epoch baseline, so
          its best validation accuracy (summary.json) is drawn as a dashed level instead.
compare   test accuracy, mean +- std over runs, from RUN_DIR/summary.json of gkd distill runs:
          one group of bars per run directory (baseline, each student, ensemble, teacher).
roofline  gkd-bench `op=... median_ms=... GB/s=...` lines: arithmetic intensity
          flops / bytes (flops = 2 * edges * feat; bytes = GB/s * 1e9 * median_ms / 1e3)
          against achieved GFLOP/s, with the memory and compute roofs when peaks are given.

Python 3 standard library and matplotlib (Agg) only. Exit codes: 0 ok, 1 missing or malformed
input (one line on stderr naming the file and the field), 2 bad usage. The PNG is written to a
temporary file beside OUT and renamed, so a failure never leaves a partial PNG.
"""

import argparse
import json
import math
import os
import re
import sys
import tempfile

PROG = "plot.py"
DPI = 110
FIGSIZE = (6.4, 4.0)


class InputError(Exception):
    """Missing or malformed input: one line, exit 1."""


# ----------------------------------------------------------------------------- helpers


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file")
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a JSON file")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({e})")
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})")


def require_dir(path):
    if not os.path.exists(path):
        raise InputError(f"{path}: no such run directory")
    if not os.path.isdir(path):
        raise InputError(f"{path}: not a directory (expected a gkd run directory)")


def number_field(obj, key, where, required=True):
    v = obj.get(key) if isinstance(obj, dict) else None
    if v is None and not required:
        return None
    if not is_number(v):
        state = "missing" if not isinstance(obj, dict) or key not in obj else f"not a number ({v!r})"
        raise InputError(f"{where}: field '{key}' {state}")
    return float(v)


DATASET_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}


def dataset_name(name):
    return DATASET_NAMES.get(str(name).lower(), str(name))


def human(n):
    n = float(n)
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            s = f"{n / scale:.1f}".rstrip("0").rstrip(".")
            return s + unit
    return f"{n:g}"


def load_pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise InputError(f"matplotlib is not importable by {sys.executable} ({e}); "
                         "install it (Debian: apt-get install python3-matplotlib)")
    return plt


def save_atomic(fig, out):
    """savefig to a temp file beside OUT, then rename: no partial PNG on failure."""
    out = os.path.abspath(out)
    parent = os.path.dirname(out)
    if not os.path.isdir(parent):
        raise InputError(f"{out}: output directory {parent} does not exist")
    fd, tmp = None, None
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(out) + ".", suffix=".tmp",
                                   dir=parent)
        with os.fdopen(fd, "wb") as f:
            fd = None
            fig.savefig(f, format="png", dpi=DPI)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
        tmp = None
    except OSError as e:
        raise InputError(f"{out}: cannot write ({e.strerror or e})")
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


# ----------------------------------------------------------------------------- curves

# The per-epoch validation metric, by run kind: node train/distill, graph classification, PPI.
VAL_FIELDS = (("val_acc", "val accuracy (%)"), ("val", "val score (%)"), ("val_f1", "val micro-F1 (%)"))
ROLE_ORDER = {"teacher": 0, "baseline": 1}


def role_key(role):
    m = re.fullmatch(r"(student|teacher)(\d+)", role)
    if m:
        return (2 if m.group(1) == "student" else 0, int(m.group(2)), role)
    return (ROLE_ORDER.get(role, 3), 0, role)


def read_metrics(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file (is {run_dir} a gkd run directory?)")
    rows = []
    val_field = None
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f"{path} line {lineno}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise InputError(f"{where}: not valid JSON ({e.msg})")
                if not isinstance(row, dict):
                    raise InputError(f"{where}: expected a JSON object")
                if val_field is None:
                    val_field = next((k for k, _ in VAL_FIELDS if k in row), None)
                    if val_field is None:
                        raise InputError(f"{where}: field 'val_acc' missing (nor 'val' or 'val_f1')")
                run = number_field(row, "run", where)
                fold = number_field(row, "fold", where, required=False)
                role = row.get("model", "")
                if not isinstance(role, str):
                    raise InputError(f"{where}: field 'model' not a string ({role!r})")
                rows.append({"role": role,
                             "run": int(run),
                             "fold": None if fold is None else int(fold),
                             "epoch": number_field(row, "epoch", where),
                             "val": metric_field(row, val_field, where),
                             "loss": metric_field(row, "train_loss", where)})
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({e})")
    if not rows:
        raise InputError(f"{path}: no metric lines")
    return rows, val_field


def metric_field(row, key, where):
    """A per-epoch metric: must be present; null (gkd writes NaN as null after divergence) or a
    non-finite number becomes a gap in the line."""
    if key not in row:
        raise InputError(f"{where}: field '{key}' missing")
    v = row[key]
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return math.nan
    return number_field(row, key, where)


def optional_json(path):
    return read_json(path) if os.path.exists(path) else None


def run_title(run_dir, summary, config):
    info = summary if isinstance(summary, dict) else {}
    cfg = config if isinstance(config, dict) else {}
    command = info.get("command") or ("distill" if "method" in cfg and cfg.get("method") else "train")
    dataset = dataset_name(info.get("dataset") or cfg.get("data")
                           or os.path.basename(os.path.normpath(run_dir)))
    if command == "distill":
        method = info.get("method") or cfg.get("method", "?")
        return f"gkd distill --method {method} on {dataset}"
    model = info.get("model") or cfg.get("model", "?")
    return f"gkd train {model} on {dataset}"


def cmd_curves(args):
    require_dir(args.run_dir)
    rows, val_field = read_metrics(args.run_dir)
    summary = optional_json(os.path.join(args.run_dir, "summary.json"))
    config = optional_json(os.path.join(args.run_dir, "config.json"))
    val_label = dict(VAL_FIELDS)[val_field]

    series = {}  # (role, run, fold) -> [(epoch, val, loss)]
    for r in rows:
        series.setdefault((r["role"], r["run"], r["fold"]), []).append((r["epoch"], r["val"], r["loss"]))
    distill = any(role for role, _, _ in series)
    roles = sorted({role for role, _, _ in series}, key=role_key)
    runs = sorted({(run, fold) for _, run, fold in series}, key=lambda x: (x[0], x[1] or 0))

    plt = load_pyplot()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, (ax_val, ax_loss) = plt.subplots(1, 2, figsize=FIGSIZE)
    many = len(series) > 12  # thin lines when there are many runs/folds

    def style(i):
        return colors[i % len(colors)]

    labelled = set()
    for (role, run, fold), pts in sorted(series.items(), key=lambda kv: (role_key(kv[0][0]), kv[0][1], kv[0][2] or 0)):
        pts.sort()
        ep = [p[0] for p in pts]
        if distill:
            idx = roles.index(role)
            n_runs = len({(r, f) for rr, r, f in series if rr == role})
            label = role if n_runs == 1 else f"{role} ({n_runs} runs)"
            color = style(idx)
            ls = "--" if role == "baseline" else (":" if role.startswith("teacher") else "-")
            key = role
        else:
            idx = runs.index((run, fold))
            label = f"run {run}" + (f" fold {fold}" if fold is not None else "")
            color = style(idx)
            ls = "-"
            key = label
            if many:
                label, key, color = f"{len(runs)} runs/folds", "all", style(0)
        kw = dict(color=color, linestyle=ls, linewidth=0.8 if many else 1.3, alpha=0.6 if many else 1.0)
        lab = label if key not in labelled else None
        labelled.add(key)
        ax_val.plot(ep, [p[1] for p in pts], label=lab, **kw)
        ax_loss.plot(ep, [p[2] for p in pts], **kw)

    # Online cohorts log no per-epoch baseline/ensemble: their best val accuracy from summary.json.
    if distill and isinstance(summary, dict):
        extra = [("baseline", "--"), ("ensemble", "-.")]
        for i, (name, ls) in enumerate(extra):
            obj = summary.get(name)
            if name in roles or not isinstance(obj, dict):
                continue
            v = number_field(obj, "val_mean", f"{os.path.join(args.run_dir, 'summary.json')} {name}",
                             required=False)
            if v is None:
                continue
            ax_val.axhline(v, color="black" if name == "baseline" else "grey", linestyle=ls,
                           linewidth=1.2, label=f"{name}: best val {v:.1f} (summary)")

    title = args.title or run_title(args.run_dir, summary, config)
    fig.suptitle(title, fontsize=10)
    ax_val.set_xlabel("epoch")
    ax_val.set_ylabel(val_label)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("train loss")
    ax_val.set_title("validation", fontsize=9)
    ax_loss.set_title("training loss", fontsize=9)
    for ax in (ax_val, ax_loss):
        ax.grid(alpha=0.3)
        ax.tick_params(which="both", labelsize=8)
    ax_val.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_atomic(fig, args.output)
    return 0


# ----------------------------------------------------------------------------- compare


def stat(obj, where):
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected an object with 'test_mean' and 'test_std'")
    mean = number_field(obj, "test_mean", where)
    std = number_field(obj, "test_std", where, required=False) or 0.0
    return mean, std


def compare_group(run_dir):
    require_dir(run_dir)
    path = os.path.join(run_dir, "summary.json")
    s = read_json(path)
    if not isinstance(s, dict):
        raise InputError(f"{path}: expected a JSON object")
    command = s.get("command")
    dataset = dataset_name(s.get("dataset", "?"))
    runs = s.get("runs")
    bars = []
    if command == "distill":
        students = s.get("students")
        if not isinstance(students, list) or not students:
            raise InputError(f"{path}: field 'students' missing or empty")
        if "baseline" in s:
            bars.append(("baseline", *stat(s["baseline"], f"{path} field 'baseline'")))
        for k, st in enumerate(students):
            name = f"student{k}" if len(students) > 1 else "student"
            bars.append((name, *stat(st, f"{path} field 'students[{k}]'")))
        if "ensemble" in s:
            bars.append(("ensemble", *stat(s["ensemble"], f"{path} field 'ensemble'")))
        if "teacher" in s:
            bars.append(("teacher", *stat(s["teacher"], f"{path} field 'teacher'")))
        label = f"{s.get('method', '?')}\n{dataset}"
    elif command == "train":
        bars.append((f"{s.get('model', 'model')} (gkd train)", *stat(s, path)))
        label = f"train {s.get('model', '?')}\n{dataset}"
    else:
        raise InputError(f"{path}: field 'command' is {command!r} (expected 'distill' or 'train')")
    if is_number(runs):
        label += f" ({int(runs)} run{'s' if runs != 1 else ''})"
    return label, bars


def bar_color(name, colors):
    if name == "baseline":
        return "0.55"
    if name == "teacher":
        return "0.2"
    if name == "ensemble":
        return colors[3 % len(colors)]
    m = re.fullmatch(r"student(\d*)", name)
    if m:
        k = int(m.group(1) or 0)
        return colors[[0, 1, 2, 4, 5, 6, 7, 8, 9][k % 9] % len(colors)]
    return colors[8 % len(colors)]


def cmd_compare(args):
    groups = [compare_group(d) for d in args.run_dirs]
    plt = load_pyplot()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=FIGSIZE)
    width = 0.8 / max(len(b) for _, b in groups)
    lows, highs = [], []
    seen = set()
    for g, (label, bars) in enumerate(groups):
        x0 = g - width * (len(bars) - 1) / 2
        for i, (name, mean, std) in enumerate(bars):
            x = x0 + i * width
            key = "student0" if name == "student" else name  # one legend entry per colour
            lab = None
            if key not in seen:
                both = any(n == "student" for _, b in groups for n, _, _ in b) and \
                    any(n == "student0" for _, b in groups for n, _, _ in b)
                lab = "student0 / student" if key == "student0" and both else name
            seen.add(key)
            ax.bar(x, mean, width * 0.92, yerr=std, capsize=2, color=bar_color(name, colors),
                   label=lab, edgecolor="black", linewidth=0.4, error_kw={"linewidth": 0.8})
            ax.text(x, mean + std + 0.15, f"{mean:.1f}", ha="center", va="bottom", fontsize=6,
                    rotation=90 if len(bars) > 3 else 0)
            lows.append(mean - std)
            highs.append(mean + std)
    # Accuracies differ by a few points: start the axis below the lowest bar, and say so.
    lo = max(0.0, math.floor((min(lows) - 5) / 5) * 5)
    hi = max(highs) + max(max(highs) - lo, 1.0) * (0.16 if max(len(b) for _, b in groups) > 3 else 0.08)
    ax.set_ylim(lo, hi)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([label for label, _ in groups], fontsize=8)
    ax.set_ylabel("test accuracy (%), mean ± std" + (f"  [axis from {lo:g}]" if lo > 0 else ""),
                  fontsize=8)
    ax.set_title(args.title or "baseline vs distilled students: test accuracy", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.tick_params(which="both", labelsize=8)
    ax.legend(fontsize=7, ncol=min(len(seen), 6), loc="upper center", bbox_to_anchor=(0.5, -0.2),
              frameon=False)
    fig.tight_layout()
    save_atomic(fig, args.output)
    return 0


# ----------------------------------------------------------------------------- roofline

BENCH_FIELDS = ("op", "nodes", "edges", "feat", "median_ms", "GB/s")


def read_bench(path):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file")
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected gkd-bench output")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({e})")
    points = []
    for lineno, line in enumerate(lines, 1):
        if "op=" not in line:
            continue  # headers, blank lines, shell noise
        where = f"{path} line {lineno}"
        fields = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
        for key in BENCH_FIELDS:
            if key not in fields:
                raise InputError(f"{where}: field '{key}' missing")
        vals = {}
        for key in BENCH_FIELDS[1:]:
            try:
                vals[key] = float(fields[key])
            except ValueError:
                raise InputError(f"{where}: field '{key}' not a number ({fields[key]!r})")
            if not math.isfinite(vals[key]) or vals[key] <= 0:
                raise InputError(f"{where}: field '{key}' must be positive (got {fields[key]})")
        op = fields["op"]
        if op not in ("spmm", "sddmm"):
            raise InputError(f"{where}: field 'op' is {op!r} (expected spmm or sddmm)")
        flops = 2.0 * vals["edges"] * vals["feat"]
        seconds = vals["median_ms"] / 1e3
        nbytes = vals["GB/s"] * 1e9 * seconds
        points.append({"op": op, "device": fields.get("device", "?"), "nodes": vals["nodes"],
                       "edges": vals["edges"], "feat": int(vals["feat"]),
                       "intensity": flops / nbytes, "gflops": flops / seconds / 1e9,
                       "gbs": vals["GB/s"]})
    if not points:
        raise InputError(f"{path}: no gkd-bench lines (expected 'op=... median_ms=... GB/s=...')")
    return points


def cmd_roofline(args):
    for name in ("peak_gbs", "peak_gflops"):
        v = getattr(args, name)
        if v is not None and not (math.isfinite(v) and v > 0):
            raise UsageError(f"--{name.replace('_', '-')} must be a positive number (got {v})")
    points = read_bench(args.bench_output)
    plt = load_pyplot()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = {"spmm": "o", "sddmm": "s"}
    fig, ax = plt.subplots(figsize=FIGSIZE)
    xs = [p["intensity"] for p in points]
    ys = [p["gflops"] for p in points]
    xlo, xhi = min(xs) / 3, max(xs) * 3
    if args.peak_gbs and args.peak_gflops:  # show the ridge point
        ridge = args.peak_gflops / args.peak_gbs
        xlo, xhi = min(xlo, ridge / 3), max(xhi, ridge * 3)
    seen = set()
    for p in points:
        color = colors[0] if p["op"] == "spmm" else colors[1]
        lab = p["op"] if p["op"] not in seen else None
        seen.add(p["op"])
        ax.scatter(p["intensity"], p["gflops"], marker=markers[p["op"]], color=color, s=30,
                   zorder=3, label=lab)
        ax.annotate(f"{p['op']} {human(p['nodes'])}n/{human(p['edges'])}e F={p['feat']}",
                    (p["intensity"], p["gflops"]), textcoords="offset points", xytext=(5, 3),
                    fontsize=6.5)
    roofs = []
    ytop = max(ys)
    if args.peak_gbs is not None:
        xr = [xlo, xhi]
        yr = [args.peak_gbs * x for x in xr]
        if args.peak_gflops is not None:
            ridge = args.peak_gflops / args.peak_gbs
            xr = [xlo, max(xlo, min(ridge, xhi))]
            yr = [args.peak_gbs * x for x in xr]
        ax.plot(xr, yr, color="black", linewidth=1.2, label=f"memory roof {args.peak_gbs:g} GB/s")
        roofs.append("memory")
        ytop = max(ytop, max(yr))
    if args.peak_gflops is not None:
        x0 = args.peak_gflops / args.peak_gbs if args.peak_gbs else xlo
        x0 = min(max(x0, xlo), xhi)
        ax.plot([x0, xhi], [args.peak_gflops] * 2, color="black", linestyle="--", linewidth=1.2,
                label=f"compute roof {args.peak_gflops:g} GFLOP/s")
        roofs.append("compute")
        ytop = max(ytop, args.peak_gflops)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(xlo, xhi)
    from matplotlib.ticker import FuncFormatter, LogLocator
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for axis, (lo, hi) in ((ax.xaxis, (xlo, xhi)), (ax.yaxis, (min(ys) / 3, ytop * 3))):
        axis.set_major_formatter(plain)
        if hi / lo < 300:  # a narrow range: label 2x and 5x too
            axis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
            axis.set_minor_formatter(plain)
    ax.set_ylim(min(ys) / 3, ytop * 3)
    ax.set_xlabel("arithmetic intensity (flop / compulsory byte)", fontsize=8)
    ax.set_ylabel("achieved GFLOP/s (2·edges·feat / median time)", fontsize=8)
    title = args.title or f"gkd-bench roofline ({points[0]['device']})"
    if not roofs:
        title += "\nno roofs given (--peak-gbs/--peak-gflops): measured points only"
    ax.set_title(title, fontsize=9)
    ax.grid(which="both", alpha=0.25)
    ax.tick_params(which="both", labelsize=8)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_atomic(fig, args.output)
    return 0


# ----------------------------------------------------------------------------- main


class UsageError(Exception):
    """Bad usage: exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        sys.exit(2)


def make_parser():
    p = Parser(prog=PROG, description="PNG figures from gkd run directories and gkd-bench output.")
    sub = p.add_subparsers(dest="command", metavar="{curves,compare,roofline}", parser_class=Parser)
    sub.required = True
    c = sub.add_parser("curves", help="val accuracy and train loss vs epoch of one run directory")
    c.add_argument("run_dir", metavar="RUN_DIR")
    c.add_argument("-o", "--output", default="curves.png", help="PNG to write (default curves.png)")
    c.add_argument("--title", help="figure title (default: command, method and dataset)")
    c.set_defaults(fn=cmd_curves)
    m = sub.add_parser("compare", help="test accuracy bars from gkd distill summary.json files")
    m.add_argument("run_dirs", metavar="RUN_DIR", nargs="+")
    m.add_argument("-o", "--output", default="compare.png", help="PNG to write (default compare.png)")
    m.add_argument("--title", help="figure title")
    m.set_defaults(fn=cmd_compare)
    r = sub.add_parser("roofline", help="roofline from gkd-bench cpu output lines")
    r.add_argument("bench_output", metavar="BENCH_OUTPUT.txt")
    r.add_argument("--peak-gbs", type=float, help="peak memory bandwidth, GB/s (memory roof)")
    r.add_argument("--peak-gflops", type=float, help="peak compute, GFLOP/s (compute roof)")
    r.add_argument("-o", "--output", default="roofline.png", help="PNG to write (default roofline.png)")
    r.add_argument("--title", help="figure title (a note is appended when no roofs are given)")
    r.set_defaults(fn=cmd_roofline)
    return p


def main(argv=None):
    args = make_parser().parse_args(argv)
    if not args.output.lower().endswith(".png"):
        print(f"{PROG}: error: -o {args.output}: expected a .png file name", file=sys.stderr)
        return 2
    try:
        return args.fn(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except InputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
