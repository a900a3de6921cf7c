import { describe, expect, it } from "vitest";
import { parseRoute, readToken, saveToken } from "./session";

describe("console session", () => {
  it("keeps the token in session storage only", () => {
    saveToken("secret-token-123456");
    expect(readToken()).toBe("secret-token-123456");
    expect(sessionStorage.getItem("auterity-ai-step.token")).toBe("secret-token-123456");
    expect(localStorage.length).toBe(0);
    saveToken(null);
    expect(readToken()).toBeNull();
  });

  it("routes by hash: page and execution id, Models by default", () => {
    expect(parseRoute("#/executions/exec%201")).toEqual({ page: "executions", arg: "exec 1" });
    expect(parseRoute("#/usage")).toEqual({ page: "usage", arg: null });
    expect(parseRoute("")).toEqual({ page: "models", arg: null });
    expect(parseRoute("#/nowhere")).toEqual({ page: "models", arg: null });
  });
});
