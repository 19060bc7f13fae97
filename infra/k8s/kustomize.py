"""The small part of kustomize that infra/k8s uses, so tests can build the overlays without a kustomize binary.

`kubectl apply -k` (real kustomize) is what deploys; this renders the same documents for validation. It knows
only these kustomization fields and refuses any other, so a manifest cannot silently depend on a feature this
file does not implement:

- `resources`: YAML files (several documents each) and directories holding a kustomization.yaml;
- `namespace`: set on every namespaced resource;
- `labels`: `pairs` added to every resource's labels and, with `includeTemplates`, to pod templates
  (never to selectors: `includeSelectors: true` is refused);
- `images`: `name` -> `newName` / `newTag` / `digest` in every container and init container;
- `configMapGenerator`: `files` and `literals`, with `generatorOptions.disableNameSuffixHash: true`
  (name hashes would need reference rewriting, which this file does not do);
- `patches`: `path` to a file of whole documents, each merged strategically into the resource of the same
  kind and name (lists of containers, volumes, env, ports and volume mounts merge by their keys, as
  Kubernetes' strategic merge patch does; other lists are replaced; a null value deletes a field).
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

KNOWN = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "configMapGenerator",
         "generatorOptions", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass",
                  "PersistentVolume", "PriorityClass"}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# Strategic-merge keys of the lists we patch (k8s.io/api patchMergeKey); everything else is replaced.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name", "env": "name",
              "volumeMounts": "mountPath", "imagePullSecrets": "name"}


class KustomizeError(ValueError):
    pass


def load_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def key(resource: dict) -> tuple[str, str]:
    return resource["kind"], resource["metadata"]["name"]


def _ports_key(items: list) -> str:
    return "containerPort" if all("containerPort" in i for i in items) else "port"


def merge(base, patch, field: str = ""):
    """Strategic merge of `patch` into `base` (neither is modified)."""
    if isinstance(patch, dict) and isinstance(base, dict):
        if "$patch" in patch:
            raise KustomizeError(f"{field}: '$patch' directives are not supported")
        out = copy.deepcopy(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = merge(base.get(k), v, k)
        return out
    if isinstance(patch, list) and isinstance(base, list):
        merge_key = MERGE_KEYS.get(field) or (_ports_key(patch + base) if field == "ports" else None)
        if merge_key and all(isinstance(i, dict) and merge_key in i for i in base + patch):
            out = copy.deepcopy(base)
            for item in patch:
                at = next((n for n, b in enumerate(out) if b[merge_key] == item[merge_key]), None)
                if at is None:
                    out.append(copy.deepcopy(item))
                else:
                    out[at] = merge(out[at], item, field)
            return out
    return copy.deepcopy(patch)


def _pod_specs(resource: dict):
    spec = resource.get("spec", {})
    if resource["kind"] in POD_TEMPLATE_KINDS:
        yield spec.get("template", {}).get("spec", {})


def image_name(ref: str) -> str:
    """`registry:5000/app:1.2@sha256:...` -> `registry:5000/app` (what `images[].name` matches)."""
    ref = ref.split("@", 1)[0]
    head, _, last = ref.rpartition("/")
    return (head + "/" if head else "") + last.split(":", 1)[0]


def _set_image(containers: list, images: list[dict]) -> None:
    for container in containers:
        ref = container.get("image", "")
        name = image_name(ref)
        for image in images:
            if image["name"] != name:
                continue
            unknown = set(image) - {"name", "newName", "newTag", "digest"}
            if unknown:
                raise KustomizeError(f"images: unsupported fields {sorted(unknown)}")
            new = image.get("newName", name)
            if "digest" in image:
                new += "@" + image["digest"]
            elif "newTag" in image:
                new += ":" + image["newTag"]
            else:
                new += ref[len(name):]  # only renamed: keep the tag or digest
            container["image"] = new


def _generate_config_maps(root: Path, kustomization: dict) -> list[dict]:
    generators = kustomization.get("configMapGenerator", [])
    if generators and not kustomization.get("generatorOptions", {}).get("disableNameSuffixHash"):
        raise KustomizeError(f"{root}: configMapGenerator needs generatorOptions.disableNameSuffixHash: true here")
    made = []
    for gen in generators:
        unknown = set(gen) - {"name", "files", "literals"}
        if unknown:
            raise KustomizeError(f"{root}: configMapGenerator {gen.get('name')}: unsupported {sorted(unknown)}")
        data = {}
        for entry in gen.get("files", []):
            name, _, source = entry.partition("=") if "=" in entry else (Path(entry).name, "", entry)
            path = (root / source).resolve()
            if root.resolve() not in path.parents:
                raise KustomizeError(f"{root}: {entry} is outside the kustomization (kustomize refuses that too)")
            data[name] = path.read_text()
        for literal in gen.get("literals", []):
            name, _, value = literal.partition("=")
            data[name] = value
        made.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]}, "data": data})
    return made


def build(root: str | Path) -> list[dict]:
    """Render the kustomization in directory `root` to its list of resources."""
    root = Path(root)
    kustomization = yaml.safe_load((root / "kustomization.yaml").read_text())
    unknown = set(kustomization) - KNOWN
    if unknown:
        raise KustomizeError(f"{root}/kustomization.yaml: fields this renderer does not implement: {sorted(unknown)}")
    resources: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = root / entry
        resources += build(path) if path.is_dir() else load_documents(path)
    resources += _generate_config_maps(root, kustomization)
    seen = [key(r) for r in resources]
    duplicates = {k for k in seen if seen.count(k) > 1}
    if duplicates:
        raise KustomizeError(f"{root}: resources defined twice: {sorted(duplicates)}")

    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise KustomizeError(f"{root}: only 'path' patches of whole documents are supported, not {patch}")
        for doc in load_documents(root / patch["path"]):
            at = next((n for n, r in enumerate(resources) if key(r) == key(doc)), None)
            if at is None:
                raise KustomizeError(f"{root}/{patch['path']}: no resource {key(doc)} to patch")
            if resources[at]["apiVersion"] != doc.get("apiVersion", resources[at]["apiVersion"]):
                raise KustomizeError(f"{root}/{patch['path']}: {key(doc)} apiVersion differs from the resource's")
            resources[at] = merge(resources[at], doc)

    for labels in kustomization.get("labels", []):
        if labels.get("includeSelectors"):
            raise KustomizeError(f"{root}: labels.includeSelectors is not supported (selectors stay as written)")
        pairs = labels["pairs"]
        for r in resources:
            r["metadata"].setdefault("labels", {}).update(pairs)
            if labels.get("includeTemplates") and r["kind"] in POD_TEMPLATE_KINDS:
                r["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {}).update(pairs)

    if namespace := kustomization.get("namespace"):
        for r in resources:
            if r["kind"] not in CLUSTER_SCOPED:
                r["metadata"]["namespace"] = namespace

    if images := kustomization.get("images"):
        for r in resources:
            for pod in _pod_specs(r):
                _set_image(pod.get("containers", []) + pod.get("initContainers", []), images)
    return resources
