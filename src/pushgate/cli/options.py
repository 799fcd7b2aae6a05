"""The options and arguments many commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

TenantOption = Annotated[str | None, typer.Option(help="Tenant name (default: default).")]
AppArgument = Annotated[str, typer.Argument(help="The app's name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")]
FileArgument = Annotated[Path, typer.Argument(help="A JSON file with the body.")]
