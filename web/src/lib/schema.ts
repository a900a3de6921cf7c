import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";

const compiled = new WeakMap<object, ValidateFunction>();

/** A validator for the step schema the API serves (compiled once per schema object). */
export function stepValidator(schema: Record<string, unknown>): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** Top-level fields with a schema error (the one-of-three source rule counts for "prompt"). */
export function invalidFields(errors: ErrorObject[] | null | undefined): Set<string> {
  const fields = new Set<string>();
  for (const error of errors ?? []) {
    const field = error.instancePath.split("/")[1];
    if (field) fields.add(field);
    else if (error.keyword === "additionalProperties")
      fields.add(String((error.params as { additionalProperty?: string }).additionalProperty));
    else fields.add("");
  }
  return fields;
}
