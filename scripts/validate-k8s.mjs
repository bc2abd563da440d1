// Validates rendered Kubernetes manifests without a cluster: each object against the JSON schema of
// its kind (kubernetes-models for the built-in kinds, @kubernetes-models/keda for KEDA's), then the
// references between them (ConfigMap and Secret keys, volume claims, the Service behind the Ingress,
// the Deployment KEDA scales, selectors that match a pod template). Run by scripts/check-deploy.sh.
//
// usage: node validate-k8s.mjs TOOLS_FOLDER RENDERED.yaml...   (TOOLS_FOLDER holds node_modules)
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [toolsFolder, ...files] = process.argv.slice(2);
if (!toolsFolder || files.length === 0) {
  console.error("usage: node validate-k8s.mjs TOOLS_FOLDER RENDERED.yaml...");
  process.exit(2);
}
const modules = path.join(toolsFolder, "node_modules");
const { parseAllDocuments } = await import(pathToFileURL(path.join(modules, "yaml", "dist", "index.js")));

function modelFile(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  if (group === "keda.sh") return path.join(modules, "@kubernetes-models", "keda", "keda.sh", version, `${kind}.js`);
  return group === null
    ? path.join(modules, "kubernetes-models", version, `${kind}.js`)
    : path.join(modules, "kubernetes-models", group, version, `${kind}.js`);
}

let failures = 0;
const fail = (file, what, message) => {
  failures++;
  console.error(`  FAIL ${path.basename(file)}: ${what}: ${message}`);
};

for (const file of files) {
  const objects = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const named = (kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
  const id = (o) => `${o.kind}/${o.metadata?.name}`;

  // 1. Each object against its kind's schema.
  for (const o of objects) {
    let Model;
    try {
      Model = (await import(pathToFileURL(modelFile(o.apiVersion, o.kind))))[o.kind];
    } catch {
      fail(file, id(o), `no schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (e) {
      fail(file, id(o), e.message.split("\n").slice(0, 6).join(" | "));
    }
  }

  // 2. References between objects.
  const templates = objects.filter((o) => o.spec?.template?.spec).map((o) => ({ owner: o, pod: o.spec.template }));
  const hasKey = (kind, name, key) => {
    const o = named(kind, name);
    if (!o) return `${kind} ${name} is not in the output`;
    const data = { ...o.data, ...o.stringData };
    return key === undefined || key in data ? null : `${kind} ${name} has no key ${key}`;
  };
  const check = (owner, problem) => problem && fail(file, id(owner), problem);
  for (const { owner, pod } of templates) {
    for (const c of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) {
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) check(owner, hasKey("ConfigMap", from.configMapRef.name));
        if (from.secretRef) check(owner, hasKey("Secret", from.secretRef.name));
      }
      for (const env of c.env ?? []) {
        const ref = env.valueFrom;
        if (ref?.configMapKeyRef) check(owner, hasKey("ConfigMap", ref.configMapKeyRef.name, ref.configMapKeyRef.key));
        if (ref?.secretKeyRef) check(owner, hasKey("Secret", ref.secretKeyRef.name, ref.secretKeyRef.key));
      }
      const volumes = new Set([
        ...(pod.spec.volumes ?? []).map((v) => v.name),
        ...(owner.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name),
      ]);
      for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) fail(file, id(owner), `mount of undeclared volume ${m.name}`);
    }
    for (const v of pod.spec.volumes ?? []) {
      if (v.persistentVolumeClaim && !named("PersistentVolumeClaim", v.persistentVolumeClaim.claimName))
        fail(file, id(owner), `claim ${v.persistentVolumeClaim.claimName} is not in the output`);
    }
    const selector = owner.spec.selector?.matchLabels ?? {};
    if (!Object.entries(selector).every(([k, v]) => pod.metadata?.labels?.[k] === v))
      fail(file, id(owner), "its selector does not match its pod template's labels");
  }
  const matchesAPod = (selector) =>
    templates.some(({ pod }) => Object.entries(selector).every(([k, v]) => pod.metadata?.labels?.[k] === v));
  for (const o of objects) {
    if (o.kind === "Service" && o.spec?.selector && !matchesAPod(o.spec.selector)) fail(file, id(o), "selects no pod template");
    if (o.kind === "PodDisruptionBudget" && !matchesAPod(o.spec.selector.matchLabels)) fail(file, id(o), "selects no pod template");
    if (o.kind === "Ingress")
      for (const rule of o.spec.rules ?? [])
        for (const p of rule.http?.paths ?? [])
          if (!named("Service", p.backend.service.name)) fail(file, id(o), `backend Service ${p.backend.service.name} is not in the output`);
    if (o.kind === "ScaledObject") {
      if (!named(o.spec.scaleTargetRef.kind ?? "Deployment", o.spec.scaleTargetRef.name)) fail(file, id(o), "its scale target is not in the output");
      for (const t of o.spec.triggers ?? [])
        if (t.authenticationRef && !named("TriggerAuthentication", t.authenticationRef.name))
          fail(file, id(o), `TriggerAuthentication ${t.authenticationRef.name} is not in the output`);
    }
    if (o.kind === "TriggerAuthentication")
      for (const ref of o.spec.secretTargetRef ?? []) check(o, hasKey("Secret", ref.name, ref.key));
  }
  console.log(`  ${path.basename(file)}: ${objects.length} objects (${[...new Set(objects.map((o) => o.kind))].join(", ")}) checked`);
}

if (failures > 0) {
  console.error(`validate-k8s: ${failures} problem(s)`);
  process.exit(1);
}
