"""Submitting a compiled Workflow to an Argo Server through its REST API (Hera's WorkflowsService)."""

from __future__ import annotations

from dataclasses import dataclass

from hera.workflows import Workflow, WorkflowsService, WorkflowTemplate
from hera.workflows.models import (
    WorkflowCreateRequest,
    WorkflowTemplateCreateRequest,
    WorkflowTemplateUpdateRequest,
)

from ..exceptions import KatibFlowError, SpecError

__all__ = ["SubmitError", "Submitted", "submit_workflow"]


class SubmitError(KatibFlowError, RuntimeError):
    """The Argo Server refused the Workflow or could not be reached."""


@dataclass(frozen=True)
class Submitted:
    name: str
    namespace: str
    url: str  # the Workflow in the Argo UI


def submit_workflow(
    workflow: Workflow,
    *,
    server: str,
    namespace: str,
    token: str | None = None,
    verify_ssl: bool = True,
    template: WorkflowTemplate | None = None,
) -> Submitted:
    """Create ``workflow`` in ``namespace`` on the Argo Server at ``server``.

    With ``template`` (the WorkflowTemplate the Workflow references), first
    create the template or, when it exists already, replace its spec: a
    resubmitted experiment continues with the templates it was compiled to now.
    """
    if not server.startswith(("http://", "https://")):
        raise SpecError.single("--argo-server", f"needs a scheme: {server!r} (e.g. https://argo.example.com:2746)")
    authorization = None
    if token:
        authorization = token if token.startswith(("Bearer ", "Basic ")) else f"Bearer {token}"
    service = WorkflowsService(host=server, token=authorization, verify_ssl=verify_ssl, namespace=namespace)
    if template is not None:
        template.namespace = namespace
        try:
            _apply_template(service, template, namespace)
        except Exception as err:  # as below: one line for the user
            raise SubmitError(f"the Argo Server at {server} refused the WorkflowTemplate: {err}") from err
    workflow.namespace = namespace
    try:
        created = service.create_workflow(WorkflowCreateRequest(workflow=workflow.build()), namespace=namespace)
    except Exception as err:  # Hera raises requests' and its own exceptions; the user needs one line
        raise SubmitError(f"the Argo Server at {server} refused the Workflow: {err}") from err
    name = created.metadata.name or ""
    return Submitted(name, namespace, f"{server.rstrip('/')}/workflows/{namespace}/{name}")


def _apply_template(service: WorkflowsService, template: WorkflowTemplate, namespace: str) -> None:
    from hera.exceptions import NotFound

    built = template.build()
    name = template.name or ""
    try:
        existing = service.get_workflow_template(name, namespace=namespace)
    except NotFound:
        service.create_workflow_template(WorkflowTemplateCreateRequest(template=built), namespace=namespace)
        return
    built.metadata.resource_version = existing.metadata.resource_version
    service.update_workflow_template(name, WorkflowTemplateUpdateRequest(template=built), namespace=namespace)
