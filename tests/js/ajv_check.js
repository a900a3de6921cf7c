// Compile a JSON Schema with Ajv's 2020-12 build in strict mode, then validate instances.
// Usage: node ajv_check.js SCHEMA.json [INSTANCE.json ...]; prints one JSON line per instance.
const Ajv2020 = require("ajv/dist/2020");
const fs = require("fs");
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validate = ajv.compile(JSON.parse(fs.readFileSync(process.argv[2], "utf8")));
for (const file of process.argv.slice(3)) {
  const ok = validate(JSON.parse(fs.readFileSync(file, "utf8")));
  console.log(JSON.stringify({ file, ok, errors: validate.errors }));
}
console.log(JSON.stringify({ compiled: true }));
