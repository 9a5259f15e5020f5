from mecm.cli import main

main()
