"""``python -m auterity_ai_step`` runs the command line, like ``auterity-ai-step``."""

from .cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess
    main()
