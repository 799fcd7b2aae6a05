"""Packages: export an app's configuration, install, upgrade, uninstall, list
(docs/packages.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from pushgate.api.deps import CallerDep, ServicesDep, TenantDep
from pushgate.api.package_schemas import (
    InstalledPackageOut,
    InstalledPackages,
    PackageInstallInput,
    PackageOutcomeOut,
    PackageUninstallInput,
)
from pushgate.core.inputs import NAME_PATTERN
from pushgate.core.package_bundle import SEMVER, Bundle, under
from pushgate.errors import InvalidInput

router = APIRouter(tags=["packages"])
AppName = Annotated[str, Path(pattern=NAME_PATTERN)]


@router.get("/v1/apps/{app}/package")
async def export_package(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    name: Annotated[
        str | None, Query(pattern=NAME_PATTERN, description="Package name; default: the app's.")
    ] = None,
    version: Annotated[
        str | None, Query(pattern=SEMVER.pattern, description="Semantic version; default 1.0.0.")
    ] = None,
) -> Bundle:
    """The app's configuration as a bundle to install elsewhere: types, actions, action
    sets, triggers and the switches of its types. Secrets are never in it: the app's
    credentials and webhook signing secrets appear as named placeholders."""
    return Bundle.model_validate(await svc.packages.export(who, tenant, app, name, version))


@router.post("/v1/packages:install")
async def install_package(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, body: PackageInstallInput
) -> PackageOutcomeOut:
    """Install a bundle into an app, or upgrade it: items the tenant changed since the
    last install are kept and reported as conflicts. `dry_run` only reports."""
    try:
        outcome = await svc.packages.install(
            who, tenant, body.app, body.bundle, dry_run=body.dry_run
        )
    except InvalidInput as exc:
        # The service names an item's path in the bundle; here the bundle is a field.
        raise under("bundle", exc) from exc
    return PackageOutcomeOut.of(outcome)


@router.post("/v1/packages:uninstall")
async def uninstall_package(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, body: PackageUninstallInput
) -> PackageOutcomeOut:
    """Remove what the package installed; what the tenant changed since, or what other
    items still name, stays and is reported as a conflict."""
    outcome = await svc.packages.uninstall(who, tenant, body.app, body.name, dry_run=body.dry_run)
    return PackageOutcomeOut.of(outcome)


@router.get("/v1/packages")
async def list_packages(svc: ServicesDep, who: CallerDep, tenant: TenantDep) -> InstalledPackages:
    """The packages installed in the tenant's apps."""
    found = await svc.packages.installed(who, tenant)
    return InstalledPackages(items=[InstalledPackageOut.of(r) for r in found])
