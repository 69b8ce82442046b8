"""`python -m rnntools`, and the `rnntools` script: signal handlers first, then the command's modules."""

import os
import signal
import sys


def _interrupted_at_start(signum, frame):
    # Ctrl-C, SIGTERM or SIGHUP while the command's modules are still being imported: nothing has begun and
    # nothing is open, so end at once with the interruption's status and the one line every interruption
    # prints (it was a KeyboardInterrupt traceback from inside an import, or a silent death by the signal)
    name = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
    try:
        os.write(2, f"rnntools: interrupted{name}\n".encode())
    except OSError:
        pass
    os._exit(128 + signum)


_interrupted_at_start.rnntools_at_start = True  # main() puts the run's own handlers in its place


def run() -> None:
    from rnntools import collector

    collector.start()   # rare garbage collections until the start-up's objects are made (rnntools.collector)
    for signum, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL),
                            (signal.SIGHUP, signal.SIG_DFL)):
        if signal.getsignal(signum) == default:  # one ignored (`nohup`, a job started with `&`) stays ignored
            signal.signal(signum, _interrupted_at_start)
    try:
        from rnntools.cli import main
    except KeyboardInterrupt:  # pragma: no cover - a SIGINT handler other than the one above
        sys.stderr.write("rnntools: interrupted\n")
        exec("", {})  # a KeyboardInterrupt out of a string exec would end `python -m` by SIGINT (cli.forget_...)
        sys.exit(130)
    main()


if __name__ == "__main__":
    run()
