"""`numpy-transformer translate CHECKPOINT "ein Hund läuft im Park" [--beam 4]`: translate text."""
from ._options import add_data_dir, load_run


def run(args) -> int:
    _, _, setup, _ = load_run(args.checkpoint, args.data_dir)
    task = setup.task
    if not hasattr(task, "translate"):
        raise SystemExit(f"{args.checkpoint} is not a translation run (its task has no translate)")
    if args.length_penalty is not None:
        task.length_penalty = args.length_penalty
    for line in task.translate(args.text, beam_size=args.beam):
        print(line)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("translate", help="translate sentences with a trained "
                                                     "translation checkpoint")
    parser.add_argument("checkpoint", help="a checkpoint file or the run folder holding it")
    parser.add_argument("text", nargs="+", help="source sentence(s), one translation per line")
    parser.add_argument("--beam", type=int, default=1, help="beam size (1: greedy)")
    parser.add_argument("--length-penalty", type=float, default=None,
                        help="alpha of ((5 + length) / 6) ** alpha (default: the recipe's)")
    add_data_dir(parser)
    parser.set_defaults(run=run)
