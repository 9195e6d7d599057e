"""Slices of the app's OpenAPI document: one operation with just the components it refers to."""

from portal.extensions import api


def operation_document(path: str, method: str) -> dict:
    """A complete OpenAPI document for one operation, generated from its marshmallow schemas like /api/schema/."""
    spec = api.spec.to_dict()
    operation = spec["paths"][path][method]
    components: dict[str, dict] = {}
    _collect_refs(operation, spec.get("components", {}), components)
    return {"openapi": spec["openapi"],
            "info": {"title": f"{spec['info']['title']}: {method.upper()} {path}", "version": spec["info"]["version"]},
            "paths": {path: {method: operation}}, "components": components}


def _collect_refs(node, available: dict, found: dict) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/"):
            _, _, kind, name = ref.split("/")
            if name not in found.setdefault(kind, {}):
                found[kind][name] = available[kind][name]
                _collect_refs(available[kind][name], available, found)
        for value in node.values():
            _collect_refs(value, available, found)
    elif isinstance(node, list):
        for value in node:
            _collect_refs(value, available, found)
