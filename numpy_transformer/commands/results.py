"""`numpy-transformer results RUN...`: the recipes' results table, written from the runs' result.json.

    numpy-transformer results runs/*                          # print the table
    numpy-transformer results runs/* --keep docs/results      # keep each run's result as RECIPE.json
    numpy-transformer results docs/results/*.json --speed docs/results/layers.json \\
        --write README.md --write docs/recipes.md             # rewrite the tables' blocks

A run folder's gan_quality.json (`gan-quality --json > RUN/gan_quality.json`) joins its result.
"""
import json
import os

BLOCK = "numpy-transformer results"
PATHS = ("checkpoint", "classifier")     # where gan-quality's files were: not kept with a result
ORDER = ["digits", "mlp-mnist", "cnn-mnist", "vit-mnist", "gan-mnist", "rnn-lm", "gpt-shakespeare",
         "gpt-shakespeare-bpe", "bert-quotes", "translate-multi30k", "copy", "reverse", "sort"]


def read_result(path: str) -> dict:
    """A run folder's result.json (with its gan_quality.json, if any), or a kept result file."""
    if not os.path.isdir(path):
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    with open(os.path.join(path, "result.json"), encoding="utf-8") as handle:
        result = json.load(handle)
    quality = os.path.join(path, "gan_quality.json")
    if os.path.exists(quality):
        with open(quality, encoding="utf-8") as handle:
            judged = json.load(handle)
        result.update({k: v for k, v in judged.items() if k not in result and k not in PATHS})
    return result


def train_step_ratios(speed_file: str) -> dict:
    """{recipe: ours / PyTorch of its training step} from a benchmarks.layers JSON file."""
    if not speed_file:
        return {}
    with open(speed_file, encoding="utf-8") as handle:
        record = json.load(handle)
    return {row["recipe"]: row["ratio"] for row in record["rows"] if row.get("recipe")}


def results_table(results: list[dict], ratios: dict) -> str:
    """One row per result: recipe, its headline figure, training-step ratio, minutes in training
    steps, minutes until its evaluations first met the recipe's target, and when and at which
    commit it was measured; the machine under the table when all share one."""
    from ..io import markdown_table
    from ..recipes import get_recipe
    place = {name: k for k, name in enumerate(ORDER)}
    machines = {(r.get("machine"), r.get("threads")) for r in results}
    rows = []
    for result in sorted(results, key=lambda r: (place.get(r["recipe"], len(ORDER)), r["recipe"])):
        recipe = get_recipe(result["recipe"])
        ratio = ratios.get(recipe.name)
        measured = f"{result['date'][:10]}, `{result['commit']}`" if result.get("date") else ""
        if len(machines) > 1 and result.get("machine"):
            measured += f", {result['machine']}, {result['threads']} threads"
        rows.append([f"`{recipe.name}`", recipe.headline(result),
                     f"{ratio:.2f}x" if ratio else "", _minutes(result["train_seconds"]),
                     _to_target(result.get("target")), measured])
    table = markdown_table(["recipe", "result", "training step, ours / PyTorch", "minutes",
                            "minutes to target", "measured"], rows, "llrrrl")
    (machine, threads), = machines if len(machines) == 1 else ((None, None),)
    return table + (f"\n\nMeasured on {machine}, {threads} threads." if machine else "")


def _to_target(target: dict) -> str:
    """'4.2 (accuracy >= 98.0%)', 'not reached (...)', or '' for a run without a target."""
    if not target:
        return ""
    from ..recipes import Target
    goal = Target(target["metric"], target["value"], target["higher_is_better"])
    reached = "not reached" if target["seconds"] is None else _minutes(target["seconds"])
    return f"{reached} ({goal})"


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.1f}" if minutes >= 0.1 else f"{minutes:.2f}"


def run(args) -> int:
    from ..io import replace_block
    try:
        results = [read_result(path) for path in args.runs]
        ratios = train_step_ratios(args.speed)
    except (OSError, ValueError, KeyError) as error:
        raise SystemExit(f"results: cannot read a result: {error}")
    table = results_table(results, ratios)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        for result in results:
            with open(os.path.join(args.keep, f"{result['recipe']}.json"), "w") as handle:
                json.dump(result, handle, indent=1)
    for path in args.write or []:
        replace_block(path, BLOCK, table, heading="## Results")
    if not args.write:
        print(table)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("results", help="the results table of trained runs, as Markdown")
    parser.add_argument("runs", nargs="+", help="run folders (with result.json) or kept result files")
    parser.add_argument("--speed", help="a benchmarks.layers JSON file: the training-step ratios")
    parser.add_argument("--keep", metavar="DIR", help="also copy each result to DIR/RECIPE.json")
    parser.add_argument("--write", action="append", metavar="FILE",
                        help="rewrite the table's block in this Markdown file (repeatable)")
    parser.set_defaults(run=run)
