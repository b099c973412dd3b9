// @ts-check
// Regenerates test/otlp/gen/ (`npm run otlp:gen`; only the tests use it): the OTLP trace messages as @bufbuild/protobuf
// code, from the official opentelemetry-proto .proto files. Those files come from the npm
// registry: @opentelemetry/otlp-grpc-exporter-base@0.38.0 is the last OpenTelemetry JS package that
// ships them (build/protos, a copy of opentelemetry-proto); it is fetched with `npm pack` into a
// temp dir, not installed. The code is compiled by the buf CLI (devDependency @bufbuild/buf) with
// protoc-gen-es (devDependency @bufbuild/protoc-gen-es). The generated files are committed, so
// neither the build nor CI runs this.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PROTOS_PACKAGE = "@opentelemetry/otlp-grpc-exporter-base@0.38.0";
const FILES = [
  "opentelemetry/proto/common/v1/common.proto",
  "opentelemetry/proto/resource/v1/resource.proto",
  "opentelemetry/proto/trace/v1/trace.proto",
  "opentelemetry/proto/collector/trace/v1/trace_service.proto",
];

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "test", "otlp", "gen");
const tmp = mkdtempSync(join(tmpdir(), "edge-monitor-otlp-proto-"));
try {
  const tarball =
    execFileSync("npm", ["pack", PROTOS_PACKAGE, "--pack-destination", tmp, "--silent"], { cwd: tmp, encoding: "utf8" })
      .trim()
      .split("\n")
      .pop() ?? "";
  execFileSync("tar", ["-xzf", join(tmp, tarball), "-C", tmp]);
  const protos = join(tmp, "package", "build", "protos");
  const template = {
    version: "v2",
    plugins: [
      { local: join(root, "node_modules", ".bin", "protoc-gen-es"), out, opt: ["target=ts", "import_extension=none"] },
    ],
  };
  rmSync(out, { recursive: true, force: true });
  execFileSync(
    join(root, "node_modules", ".bin", "buf"),
    ["generate", protos, "--template", JSON.stringify(template), ...FILES.flatMap((f) => ["--path", join(protos, f)])],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
  console.log(`generated ${out} from ${PROTOS_PACKAGE}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
