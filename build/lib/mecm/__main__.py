from mecm.parent_death import die_with_parent

die_with_parent()  # before the imports below, which take seconds on a loaded machine

from mecm.cli import main  # noqa: E402

main()
