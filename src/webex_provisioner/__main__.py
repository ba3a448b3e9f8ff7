"""``python -m webex_provisioner`` runs the command-line interface."""

from webex_provisioner.cli import main

if __name__ == "__main__":
    main()
