"""The results tables of benchmarks/README.md, made from benchmarks/results/*.json.

python benchmarks/results_table.py                 # print every results file's tables
python benchmarks/results_table.py nested-genia    # the files whose name starts so
python benchmarks/results_table.py --joint-summary # one row per full joint run
python benchmarks/results_table.py --write         # fill benchmarks/README.md's tables
python benchmarks/results_table.py --check         # exit 1 if they are out of date

In benchmarks/README.md, ``<!-- results: NAMES -->`` ... ``<!-- /results -->`` holds the
tables of the files NAMES lists, comma-separated: a name ending in ``*`` is a prefix, any
other a file's stem (``--joint-summary`` for the joint summary).
"""

import contextlib
import io
import json
import re
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
RESULTS = BENCHMARKS / "results"
README = BENCHMARKS / "README.md"
BLOCK = re.compile(r"(<!-- results: (\S+) -->\n).*?(<!-- /results -->)", re.S)
ORDER = ("f1", "precision", "recall", "intent_accuracy", "slot_f1", "sentence_accuracy")
# nested parts of a results file printed after its tables: numbers as a line, mappings of
# numbers as a table (lists, such as loss curves, are left to the file)
DETAILS = (
    "pipelines",
    "pretraining_text",
    "pretraining",
    "microseconds_per_word",
    "ratios",
    "training",
    "fuzzing",
)


def main() -> None:
    args = sys.argv[1:]
    if args in (["--write"], ["--check"]):
        text = README.read_text(encoding="utf8")
        filled = BLOCK.sub(lambda m: m.group(1) + rendered(m.group(2)) + m.group(3), text)
        if args == ["--write"]:
            README.write_text(filled, encoding="utf8")
        elif filled != text:
            sys.exit(f"{README} is out of date: run python benchmarks/results_table.py --write")
        return
    if args == ["--joint-summary"]:
        _print_joint_summary()
        return
    for prefix in args or [""]:
        _print_tables(prefix)


def rendered(prefix: str) -> str:
    """The tables of a README block's NAMES (or ``--joint-summary``), as a string."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if prefix == "--joint-summary":
            _print_joint_summary()
        for name in prefix.split(","):
            if name.endswith("*"):
                _print_tables(name[:-1])
            elif name != "--joint-summary":
                _print_tables(name, exact=True)
    return out.getvalue().strip() + "\n"


def _print_tables(prefix: str, exact: bool = False) -> None:
    paths = [RESULTS / f"{prefix}.json"] if exact else sorted(RESULTS.glob(f"{prefix}*.json"))
    for path in [p for p in paths if p.exists()]:
        result = json.loads(path.read_text())
        train = result.get("train", {})
        parts = [result["mode"], f"{result.get('dataset', '')} {result.get('split', '')}".strip()]
        if "encoder" in result:
            parts.append(f"encoder {result['encoder']}")
        if train:
            sentences = f"{train['examples']} training sentences, " if "examples" in train else ""
            steps = train.get("steps")
            if isinstance(steps, dict):
                steps = ", ".join(f"{task} {n}" for task, n in steps.items())
            parts.append(f"{sentences}{steps} steps, {_seeds(train)}")
        parts += [result["machine"], result["date"], f"`{result['command']}`"]
        print(f"**{result['benchmark']}** ({'; '.join(parts)})\n")
        flat = _flat_systems(result["systems"])
        keys = {
            k
            for s in flat.values()
            for k, v in s.items()
            if k != "per_label" and not isinstance(v, (dict, list))
        }
        metrics = sorted(keys, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))
        rows = dict(flat)
        rows.update({f"{name} (published)": s for name, s in result.get("published", {}).items()})
        print("| system | " + " | ".join(metrics) + " |")
        print("|---" * (len(metrics) + 1) + "|")
        for name, scores in rows.items():
            cells = [_fmt(scores.get(metric)) for metric in metrics]
            print(f"| {name} | " + " | ".join(cells) + " |")
        labels = sorted({lab for s in result["systems"].values() for lab in s.get("per_label", {})})
        if labels:
            systems = [n for n, s in result["systems"].items() if "per_label" in s]
            print("\n| F1 per label | " + " | ".join(systems) + " |")
            print("|---" * (len(systems) + 1) + "|")
            for label in labels:
                cells = [
                    _fmt(result["systems"][n]["per_label"].get(label, {}).get("f1"))
                    for n in systems
                ]
                print(f"| {label} | " + " | ".join(cells) + " |")
        extras = {k: v for k, v in result.items() if isinstance(v, (int, float))}
        if extras:
            print("\n" + "; ".join(f"{k.replace('_', ' ')}: {_fmt(v)}" for k, v in extras.items()))
        if "loss_weights" in result:
            weights = ", ".join(f"{k} {_weight(v)}" for k, v in result["loss_weights"].items())
            print(f"\nJoint loss weights: {weights}.")
        if _changes(result):
            print(f"\nChanges to joint.cfg: {_changes(result)}.")
        if "joint_minus_separate" in result:
            _print_joint_differences(result)
        if result.get("differences"):
            _print_differences(f"{result['split']} difference", result["differences"])
        for key in DETAILS:
            if key in result:
                _print_details(key.replace("_", " "), result[key])
        if "trained_by" in result:
            print(f"\nPipelines trained by `{result['trained_by']}`.")
        for seed, dev_runs in result.get("sentence_weight_dev", {}).items():
            print(f"\nJoint system, seed {seed}, dev scores per sentence weight (chosen one used):")
            for run, scores in dev_runs.items():
                name = run if run == "heads alone" else f"sentence weight {run}"
                dev_cells = ", ".join(f"{k} {_fmt(v)}" for k, v in scores.items())
                print(f"* {name}: {dev_cells}")
        print()


def _flat_systems(systems: dict) -> dict:
    """Systems whose every value is a mapping (one per data set) as one row per data set."""
    flat = {}
    for name, scores in systems.items():
        if scores and all(isinstance(v, dict) for v in scores.values()):
            flat.update({f"{name} ({part})": value for part, value in scores.items()})
        else:
            flat[name] = scores
    return flat


def _print_details(name: str, value: dict) -> None:
    """``value``'s numbers and words as one line, its mappings of numbers as one table
    (a column each), and any deeper mapping the same way under its own name."""
    scalars = {k: v for k, v in value.items() if isinstance(v, (int, float, str))}
    columns = {
        k: v
        for k, v in value.items()
        if isinstance(v, dict) and v and all(isinstance(x, (int, float)) for x in v.values())
    }
    if scalars:
        print(
            f"\n{name}: "
            + "; ".join(f"{k.replace('_', ' ')} {_fmt_detail(v)}" for k, v in scalars.items())
        )
    if columns:
        rows = list(dict.fromkeys(row for column in columns.values() for row in column))
        print(f"\n| {name} | " + " | ".join(c.replace("_", " ") for c in columns) + " |")
        print("|---" * (len(columns) + 1) + "|")
        for row in rows:
            cells = [_fmt_detail(column.get(row)) for column in columns.values()]
            print(f"| {row.replace('_', ' ')} | " + " | ".join(cells) + " |")
    for key, inner in value.items():
        if isinstance(inner, dict) and key not in columns:
            _print_details(f"{name}, {key.replace('_', ' ')}", inner)


def _print_joint_summary() -> None:
    """Joint against each head alone, one row per full joint results file (test means)."""
    print(
        "| results file | changes to joint.cfg | sentence weight | intent accuracy joint / alone "
        "| joint - alone [95% CI] | slot F1 joint / alone | joint - alone [95% CI] "
        "| sentence accuracy |"
    )
    print("|---" * 8 + "|")
    for path in sorted(RESULTS.glob("joint-*.json")):
        result = json.loads(path.read_text())
        if result["mode"] != "full":
            continue
        systems, diffs = result["systems"], result["joint_minus_separate"]
        cells = [
            f"`{path.stem}` ({result['machine']}, {_seeds(result['train'])})",
            _changes(result) or "-",
            _weight(result["loss_weights"]["sentence"]),
        ]
        for metric, alone in (("intent_accuracy", "sentence_only"), ("slot_f1", "spans_only")):
            d = diffs[metric]
            cells.append(f"{systems['joint'][metric]:.4f} / {systems[alone][metric]:.4f}")
            cells.append(
                f"{100 * d['difference']:+.2f} [{100 * d['ci95_low']:+.2f}, "
                f"{100 * d['ci95_high']:+.2f}]"
            )
        cells.append(f"{systems['joint']['sentence_accuracy']:.4f}")
        print("| " + " | ".join(cells) + " |")


def _changes(result: dict) -> str:
    """What a joint run changed of joint.cfg: for every system (``--set`` before 0.2.0),
    then for the joint system alone (``--joint-overrides``; ``--joint-variant`` before)."""
    parts = [f"`{k}` {v}" for k, v in result.get("config_overrides", {}).items()]
    joint_only = dict(result.get("joint_overrides", {}))
    for overrides in result.get("joint_variant", {}).values():
        joint_only.update(overrides)
    if joint_only:
        parts.append("joint system: " + ", ".join(f"`{k}` {v}" for k, v in joint_only.items()))
    return ", ".join(parts)


def _seeds(train: dict) -> str:
    seeds = train.get("seeds", [train.get("seed")])
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def _weight(value: object) -> str:
    """A loss weight, or one per seed (written once when they agree)."""
    if isinstance(value, list):
        return str(value[0]) if len(set(value)) == 1 else " / ".join(map(str, value))
    return str(value)


def _print_joint_differences(result: dict) -> None:
    """Joint minus separate: over all seeds, then (several seeds) per seed."""
    overall = "all seeds" if "per_seed" in result else _seeds(result["train"])
    rows = {overall: result["joint_minus_separate"]}
    rows.update(
        {f"seed {s}": r["joint_minus_separate"] for s, r in result.get("per_seed", {}).items()}
    )
    _print_differences("joint - separate (test)", rows)


def _print_differences(title: str, rows: dict) -> None:
    """Differences with their paired bootstrap intervals, a row per name and metric."""
    print(f"\n| {title} | metric | difference | 95% paired bootstrap interval |")
    print("|---|---|---|---|")
    for name, differences in rows.items():
        for metric, d in differences.items():
            interval = f"[{d['ci95_low']:+.4f}, {d['ci95_high']:+.4f}]"
            print(f"| {name} | {metric} | {d['difference']:+.4f} | {interval} |")


def _fmt_detail(value: object) -> str:
    """Times and ratios: three significant digits below 1, two decimals below 100, else as
    ``_fmt``."""
    if isinstance(value, float) and value < 1.0:
        return f"{value:.3g}"
    if isinstance(value, float) and value < 100.0:
        return f"{value:.2f}"
    return _fmt(value)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value <= 1.0:
        return f"{value:.4f}"
    if isinstance(value, float) and value < 10:
        return f"{value:.2f}"
    return f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


if __name__ == "__main__":
    main()
