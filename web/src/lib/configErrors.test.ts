import { describe, expect, it } from "vitest";
import { configErrorsByModel, parseEditors } from "./configErrors";

describe("configuration errors", () => {
  it("files each refusal under the model it names", () => {
    const errors = [
      "sim-gpt.input_cost_per_1k: must be >= 0",
      "overrides.sim-gpt-2.name: not allowed",
      "sim-gpt: must be an object of model settings",
      "models.openai.sim-gpt.quality: Input should be less than or equal to 10",
      "the body must be an object",
    ];
    expect(configErrorsByModel(errors, ["sim-gpt", "sim-gpt-2"])).toEqual({
      "sim-gpt": [
        "sim-gpt.input_cost_per_1k: must be >= 0",
        "sim-gpt: must be an object of model settings",
        "models.openai.sim-gpt.quality: Input should be less than or equal to 10",
      ],
      "sim-gpt-2": ["overrides.sim-gpt-2.name: not allowed"],
      "": ["the body must be an object"],
    });
  });

  it("joins the editors, or names the one that is not JSON", () => {
    expect(parseEditors({ a: '{"quality": 7}', b: "{}" })).toEqual({ value: { a: { quality: 7 }, b: {} } });
    const bad = parseEditors({ a: "{", b: "{}" });
    expect("error" in bad && bad.error[0]).toBe("a");
  });
});
