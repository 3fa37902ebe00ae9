from kzoo.cli import main

main()
