"""Requests and answers of the packages routes (docs/packages.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from pushgate.api.schemas import iso
from pushgate.core.inputs import NAME_PATTERN, Strict
from pushgate.core.package_bundle import Bundle, PackageName, PlaceholderKind
from pushgate.core.package_plan import Change
from pushgate.core.packages import InstallRecord, PackageOutcome

AppName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]


class PackageInstallInput(Strict):
    """Install a bundle into an app of the tenant, or upgrade the version installed."""

    app: AppName = Field(description="The app to install into; it must exist.")
    bundle: Bundle
    dry_run: bool = Field(default=False, description="Report the changes; write nothing.")


class PackageUninstallInput(Strict):
    """Remove what a package installed in an app (what the tenant changed stays)."""

    app: AppName
    name: PackageName
    dry_run: bool = Field(default=False, description="Report the changes; write nothing.")


class ItemChangeOut(BaseModel):
    kind: str = Field(description="actions, action_sets, types, triggers, sources or type_flags")
    key: str = Field(description="The item's key (a type switch: `<scope>/<type>`).")
    change: Change
    reason: str | None = Field(default=None, description="Why a conflict is one.")


class PlaceholderOut(BaseModel):
    name: str
    kind: PlaceholderKind
    provider: str | None
    filled: bool = Field(
        description="Credentials: the app has them. A webhook secret: false when this "
        "install made the action, with a secret no one knows yet (set your own)."
    )


class PackageOutcomeOut(BaseModel):
    name: str
    version: str | None = Field(description="The version installed now; null after uninstall.")
    previous_version: str | None
    app: str
    dry_run: bool
    changes: list[ItemChangeOut]
    placeholders: list[PlaceholderOut]

    @classmethod
    def of(cls, outcome: PackageOutcome) -> PackageOutcomeOut:
        return cls(
            name=outcome.name,
            version=outcome.version,
            previous_version=outcome.previous_version,
            app=outcome.app,
            dry_run=outcome.dry_run,
            changes=[
                ItemChangeOut(
                    kind=c.ref.kind.value, key=c.ref.key, change=c.change, reason=c.reason
                )
                for c in outcome.changes
            ],
            placeholders=[
                PlaceholderOut(
                    name=p.placeholder.name,
                    kind=p.placeholder.kind,
                    provider=None
                    if p.placeholder.provider is None
                    else p.placeholder.provider.value,
                    filled=p.filled,
                )
                for p in outcome.placeholders
            ],
        )


class InstalledPackageOut(BaseModel):
    name: str
    version: str
    app: str
    items: list[str] = Field(description="What the package holds in the app: `<kind>/<key>`.")
    installed_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, record: InstallRecord) -> InstalledPackageOut:
        return cls(
            name=record.name,
            version=record.version,
            app=record.app,
            items=sorted(ref.name for ref in record.items),
            installed_at=iso(record.installed_at),
            updated_at=iso(record.updated_at),
        )


class InstalledPackages(BaseModel):
    items: list[InstalledPackageOut]
