// Lints Dockerfiles with dockerfilelint (npm), minus two of its known false positives that these
// files trip, so everything else it reports fails the check. Run by scripts/check-deploy.sh.
//
// usage: node lint-dockerfiles.cjs TOOLS_FOLDER Dockerfile...   (TOOLS_FOLDER holds node_modules)
//
// dockerfilelint 1.8 predates two things these files use:
//  - multi-stage builds: `FROM <earlier stage>` and `FROM ${ARG}` are reported as a base image
//    without a tag (missing_tag). Only those are ignored; a real image without a tag still fails.
//  - HEALTHCHECK --start-period: its option pattern stops at the first '-' and reports the option
//    as invalid (invalid_format). Ignored on HEALTHCHECK lines whose options are all known.
const fs = require("node:fs");
const path = require("node:path");

const [toolsFolder, ...files] = process.argv.slice(2);
if (!toolsFolder || files.length === 0) {
  console.error("usage: node lint-dockerfiles.cjs TOOLS_FOLDER Dockerfile...");
  process.exit(2);
}
const dockerfilelint = require(path.join(toolsFolder, "node_modules", "dockerfilelint"));
const knownHealthcheckOptions = /^HEALTHCHECK(\s+--(interval|timeout|start-period|start-interval|retries)=\S+)+\s+(\\\s*)?$/;

let problems = 0;
for (const file of files) {
  const content = fs.readFileSync(file, "utf8");
  const lines = content.split("\n");
  const stages = new Set();
  for (const line of lines) {
    const stage = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(line.trim());
    if (stage) stages.add(stage[1].toLowerCase());
  }
  const falsePositive = (item) => {
    const line = (lines[item.line - 1] ?? "").trim();
    if (item.rule === "missing_tag") {
      const image = /^FROM\s+(\S+)/i.exec(line)?.[1] ?? "";
      return stages.has(image.toLowerCase()) || /^\$\{?\w+\}?$/.test(image);
    }
    return item.rule === "invalid_format" && knownHealthcheckOptions.test(line);
  };
  const items = dockerfilelint.run(path.dirname(path.resolve(file)), content);
  const real = items.filter((item) => !falsePositive(item));
  for (const item of real) console.error(`  FAIL ${path.basename(file)}:${item.line}: ${item.rule}: ${item.title}`);
  console.log(`  ${path.basename(file)}: ${items.length - real.length} known false positive(s) ignored, ${real.length} problem(s)`);
  problems += real.length;
}
process.exit(problems > 0 ? 1 : 0);
