import sys

try:
    from rnntools.cli import main
except KeyboardInterrupt:  # Ctrl-C while the command is still being imported: nothing begun, nothing to save
    sys.stderr.write("rnntools: interrupted\n")
    sys.exit(130)

main()
