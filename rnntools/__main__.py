from rnntools.cli import main

main()
