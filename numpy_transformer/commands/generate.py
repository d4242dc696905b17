"""`numpy-transformer generate CHECKPOINT --prompt TEXT`: a trained language model writes on.

The text is printed as it is sampled. Works for every recipe with a "generate" hook:
hooks["generate"](setup, prompt, max_new_tokens, temperature=, top_k=, top_p=, seed=,
on_token=) -> the text after the prompt, passed piece by piece to on_token as well.
"""
import inspect
import sys

from ._options import UsageError, add_data_dir, add_device, load_run, place


def run(args) -> int:
    from ..models.sampling import check_sampling
    try:
        check_sampling(args.temperature, args.top_k, args.top_p)
    except ValueError as error:
        raise UsageError(str(error)) from None
    recipe, _, setup, _ = load_run(args.checkpoint, args.data_dir)
    place(setup, args.device)
    hook = recipe.hooks.get("generate")
    if hook is None:
        from ..recipes import RECIPES
        able = sorted(name for name, r in RECIPES.items() if "generate" in r.hooks)
        raise SystemExit(f"generate: recipe '{recipe.name}' does not generate text (it has no "
                         f"'generate' hook); recipes that do: {', '.join(able) or 'none'}")
    options = {}
    if args.no_cache:
        if "use_cache" not in inspect.signature(hook).parameters:
            raise SystemExit(f"generate: recipe '{recipe.name}' has no cache to switch off")
        options["use_cache"] = False

    def show(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    tokenizer = setup.notes.get("tokenizer")
    if tokenizer is not None:
        tokenizer.encode(args.prompt)           # a prompt it cannot encode fails before any output
    show(args.prompt)
    hook(setup, args.prompt, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
         top_p=args.top_p, seed=args.seed, on_token=show, **options)
    show("\n")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("generate", help="sample text from a trained language model")
    parser.add_argument("checkpoint", help="a checkpoint file or the run folder holding it")
    parser.add_argument("--prompt", default="", help="the text to continue (default: none)")
    parser.add_argument("--max-new-tokens", type=int, default=500, help="how many tokens to add")
    parser.add_argument("--temperature", type=float, default=1.0, help="0: always the likeliest")
    parser.add_argument("--top-k", type=int, help="sample among the k likeliest tokens only")
    parser.add_argument("--top-p", type=float, help="sample within the nucleus of probability p")
    parser.add_argument("--seed", type=int, help="the same seed gives the same text")
    parser.add_argument("--no-cache", action="store_true",
                        help="recompute the whole context for every token (slower; same text)")
    add_data_dir(parser)
    add_device(parser)
    parser.set_defaults(run=run)
