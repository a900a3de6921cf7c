import { ExclamationTriangleIcon } from "@heroicons/react/20/solid";
import { useEffect, useId, useMemo, useState, type ReactNode } from "react";
import { useStepCheck, useStepEstimate, useStepSchema } from "../api/hooks";
import type { StepConfig } from "../api/types";
import { costsByModel } from "../lib/models";
import { invalidFields, stepValidator } from "../lib/schema";
import {
  errorsByField,
  isLegacy,
  PROMPT_SOURCES,
  promptSource,
  setField,
  upgradeLegacy,
  withSource,
  type ChatMessage,
  type PromptSource,
} from "../lib/stepConfig";
import { useDebounced } from "../lib/useDebounced";
import { FallbackList } from "./FallbackList";
import { ModelSelector } from "./ModelSelector";
import { StepEstimate } from "./StepEstimate";

export interface StepValidity {
  /** Valid against the schema (Ajv) and the live policy (the API's validate). */
  valid: boolean;
  legacy: boolean;
  /** Every problem, in the CLI `validate` command's words. */
  errors: string[];
}

export interface AIStepConfigFormProps {
  /** The step config object (`node.data`); the form is controlled. */
  value: StepConfig;
  /** Called with the whole new step config on every edit. */
  onChange: (step: StepConfig) => void;
  /** Sample workflow input the prompt is rendered with for the live estimate. */
  input?: Record<string, unknown>;
  /** Told whenever the step's validity is known anew. */
  onValidity?: (validity: StepValidity) => void;
  className?: string;
}

type SchemaProps = Record<string, { title?: string; description?: string; enum?: unknown[] }>;

const SOURCE_LABEL: Record<PromptSource, string> = {
  prompt: "Write a prompt",
  template: "Built-in template",
  messages: "Chat messages",
};
const input =
  "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 aria-[invalid=true]:border-red-600";

/** The workflow builder's AI step form, driven by the step schema the API serves and
 * validated against it (Ajv 2020), with the API's `validate` words at each field. */
export function AIStepConfigForm({ value, onChange, input: sample = {}, onValidity, className = "" }: AIStepConfigFormProps) {
  const schema = useStepSchema();
  const legacy = isLegacy(value);
  const [stash, setStash] = useState<Partial<Record<PromptSource, unknown>>>({});
  const settled = useDebounced(value);
  const validate = useMemo(() => (schema.data ? stepValidator(schema.data) : null), [schema.data]);
  const schemaValid = validate ? Boolean(validate(settled)) : false;
  const badFields = validate && !schemaValid ? invalidFields(validate.errors) : new Set<string>();
  const check = useStepCheck(schema.data ? settled : null);
  const estimate = useStepEstimate(schemaValid && !legacy && check.data?.valid ? settled : null, sample);
  const errors = useMemo(() => errorsByField(check.data?.errors ?? []), [check.data]);
  const props = ((schema.data?.properties ?? {}) as SchemaProps);
  const source = promptSource(value);
  const costs = costsByModel(estimate.data?.each_model);
  const fallbacks = Array.isArray(value.fallback_models) ? (value.fallback_models as string[]) : [];
  const taskType = typeof value.task_type === "string" ? value.task_type : null;

  useEffect(() => {
    if (check.data && schema.data)
      onValidity?.({ valid: schemaValid && check.data.valid, legacy: check.data.legacy, errors: check.data.errors });
  }, [check.data, schema.data, schemaValid, onValidity]);

  if (schema.isPending) return <p className={className}>Loading the step schema…</p>;
  if (schema.isError)
    return (
      <p role="alert" className={`text-red-700 ${className}`}>
        Could not load the step schema: {schema.error.message}
      </p>
    );

  const set = (key: string, next: unknown) => onChange(setField(value, key, next));
  const field = (key: string) => ({
    label: props[key]?.title ?? key,
    help: props[key]?.description,
    errors: errors[key] ?? [],
    invalid: badFields.has(key) || Boolean(errors[key]),
  });

  if (legacy) {
    return (
      <div className={`space-y-3 ${className}`}>
        <div role="status" className="flex gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900">
          <ExclamationTriangleIcon className="h-5 w-5 flex-none" aria-hidden="true" />
          <div>
            <p className="font-semibold">Legacy node (no config_version)</p>
            <p>It runs exactly as before and is kept byte for byte. Upgrade it to edit it here: its {"{name}"} placeholders become {"{{ name }}"}.</p>
          </div>
        </div>
        <pre role="region" tabIndex={0} aria-label="Legacy step config" className="overflow-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100">{JSON.stringify(value, null, 2)}</pre>
        {(errors[""] ?? []).concat(Object.entries(errors).filter(([k]) => k).flatMap(([, v]) => v)).map((line) => (
          <p key={line} className="text-sm text-red-700">{line}</p>
        ))}
        <button type="button" onClick={() => onChange(upgradeLegacy(value))} className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-700">
          Upgrade to version 2
        </button>
      </div>
    );
  }

  return (
    <div className={`grid gap-4 ${className}`}>
      <Field id="label" {...field("label")}>
        {(id, described) => (
          <input id={id} aria-describedby={described} className={input} value={String(value.label ?? "")} onChange={(e) => set("label", e.target.value || undefined)} />
        )}
      </Field>
      <fieldset>
        <legend className="text-sm font-medium text-slate-800">Prompt source (one at a time)</legend>
        <div className="mt-1 flex gap-4">
          {PROMPT_SOURCES.map((key) => (
            <label key={key} className="flex items-center gap-1 text-sm text-slate-800">
              <input
                type="radio"
                name="prompt-source"
                checked={source === key}
                onChange={() => {
                  const next = withSource(value, key, stash);
                  setStash(next.stash);
                  onChange(next.step);
                }}
              />
              {SOURCE_LABEL[key]}
            </label>
          ))}
        </div>
        {(errors[""] ?? []).map((line) => (
          <p key={line} className="mt-1 text-sm text-red-700">{line}</p>
        ))}
      </fieldset>
      {source === "prompt" && (
        <Field id="prompt" {...field("prompt")}>
          {(id, described) => (
            <textarea id={id} rows={5} aria-describedby={described} aria-invalid={field("prompt").invalid} className={input} value={String(value.prompt ?? "")} onChange={(e) => set("prompt", e.target.value)} />
          )}
        </Field>
      )}
      {source === "template" && (
        <Field id="template" {...field("template")}>
          {(id, described) => (
            <input id={id} list="builtin-templates" aria-describedby={described} aria-invalid={field("template").invalid} className={input} value={String(value.template ?? "")} onChange={(e) => set("template", e.target.value)} />
          )}
        </Field>
      )}
      <datalist id="builtin-templates">
        {["customer_inquiry", "lead_qualification", "service_recommendation", "generic_processing"].map((t) => (
          <option key={t} value={t} />
        ))}
      </datalist>
      {source === "messages" && (
        <MessagesEditor messages={(value.messages as ChatMessage[]) ?? []} errors={errors.messages ?? []} onChange={(m) => set("messages", m)} />
      )}
      <Field id="system" {...field("system")}>
        {(id, described) => (
          <textarea id={id} rows={2} aria-describedby={described} className={input} value={String(value.system ?? "")} onChange={(e) => set("system", e.target.value || undefined)} />
        )}
      </Field>
      <Field id="task_type" {...field("task_type")}>
        {(id, described) => (
          <input id={id} aria-describedby={described} className={input} value={taskType ?? ""} onChange={(e) => set("task_type", e.target.value || undefined)} />
        )}
      </Field>
      <div>
        <ModelSelector
          label={field("model").label}
          selectedModel={typeof value.model === "string" ? value.model : null}
          onModelChange={(name) => set("model", name)}
          taskType={taskType}
          costs={costs}
        />
        {field("model").errors.map((line) => (
          <p key={line} className="mt-1 text-sm text-red-700">{line}</p>
        ))}
      </div>
      <FallbackList value={fallbacks} onChange={(list) => set("fallback_models", list)} primary={value.model} taskType={taskType} costs={costs} errors={errors.fallback_models} />
      <label className="flex items-center gap-2 text-sm text-slate-800">
        <input type="checkbox" checked={value.policy_fallbacks !== false} onChange={(e) => set("policy_fallbacks", e.target.checked ? undefined : false)} />
        {props.policy_fallbacks?.title ?? "Use the policy's fallbacks"}
      </label>
      <div className="grid grid-cols-2 gap-4 md:grid-cols-4">
        <NumberField name="cost_limit" step="0.001" value={value} set={set} field={field("cost_limit")} />
        <NumberField name="max_tokens" step="1" value={value} set={set} field={field("max_tokens")} />
        <NumberField name="temperature" step="0.1" value={value} set={set} field={field("temperature")} />
        <Field id="cost_preference" {...field("cost_preference")}>
          {(id, described) => (
            <select id={id} aria-describedby={described} className={input} value={String(value.cost_preference ?? "balanced")} onChange={(e) => set("cost_preference", e.target.value)}>
              {(props.cost_preference?.enum ?? ["cheapest", "balanced", "quality"]).map((v) => (
                <option key={String(v)}>{String(v)}</option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <FitsCostLimit estimate={estimate.data} costLimit={value.cost_limit} />
      <StepEstimate
        estimate={estimate.data}
        pending={estimate.isFetching}
        costLimit={typeof value.cost_limit === "number" ? value.cost_limit : null}
        error={estimate.isError ? estimate.error.message : !estimate.data && (!schemaValid || check.data?.valid === false) ? "the step does not validate yet" : null}
      />
      {Object.entries(errors)
        .filter(([key]) => key && !["prompt", "template", "messages", "model", "fallback_models", "cost_limit", "max_tokens", "temperature", "cost_preference", "system", "task_type", "label"].includes(key))
        .flatMap(([, lines]) => lines)
        .map((line) => (
          <p key={line} className="text-sm text-red-700">{line}</p>
        ))}
    </div>
  );
}

interface FieldProps {
  id: string;
  label: string;
  help?: string;
  errors: string[];
  invalid: boolean;
  children: (id: string, describedBy: string) => ReactNode;
}

/** A labelled field with the schema's description and the `validate` errors beneath. */
function Field({ id, label, help, errors, children }: FieldProps) {
  const uid = useId();
  const fieldId = `${uid}-${id}`;
  return (
    <div>
      <label htmlFor={fieldId} className="block text-sm font-medium text-slate-800">{label}</label>
      {children(fieldId, `${fieldId}-help ${fieldId}-errors`)}
      {help && <p id={`${fieldId}-help`} className="mt-1 text-xs text-slate-600">{help}</p>}
      <div id={`${fieldId}-errors`}>
        {errors.map((line) => (
          <p key={line} className="mt-1 text-sm text-red-700">{line}</p>
        ))}
      </div>
    </div>
  );
}

function NumberField({ name, step, value, set, field }: {
  name: string;
  step: string;
  value: StepConfig;
  set: (key: string, next: unknown) => void;
  field: Omit<FieldProps, "id" | "children">;
}) {
  const current = value[name];
  return (
    <Field id={name} {...field} help={undefined}>
      {(id, described) => (
        <input
          id={id}
          type="number"
          step={step}
          aria-describedby={described}
          aria-invalid={field.invalid}
          className={input}
          value={typeof current === "number" ? current : ""}
          onChange={(e) => set(name, e.target.value === "" ? undefined : Number(e.target.value))}
        />
      )}
    </Field>
  );
}

/** Which candidates fit the step's cost_limit, live. */
function FitsCostLimit({ estimate, costLimit }: { estimate: ReturnType<typeof useStepEstimate>["data"]; costLimit: unknown }) {
  if (typeof costLimit !== "number" || !estimate) return null;
  const fitting = estimate.candidates.filter((c) => c.fits_cost_limit).map((c) => c.model);
  return (
    <p aria-live="polite" className="text-sm text-slate-800">
      {fitting.length
        ? `Within the cost limit: ${fitting.join(", ")}`
        : "No candidate fits the cost limit"}
    </p>
  );
}

function MessagesEditor({ messages, errors, onChange }: { messages: ChatMessage[]; errors: string[]; onChange: (m: ChatMessage[]) => void }) {
  const update = (index: number, patch: Partial<ChatMessage>) =>
    onChange(messages.map((m, i) => (i === index ? { ...m, ...patch } : m)));
  return (
    <fieldset className="space-y-2">
      <legend className="text-sm font-medium text-slate-800">Messages</legend>
      {messages.map((message, index) => (
        <div key={index} className="flex gap-2">
          <select aria-label={`Message ${index + 1} role`} className="rounded-md border border-slate-300 text-sm" value={message.role} onChange={(e) => update(index, { role: e.target.value as ChatMessage["role"] })}>
            <option>system</option>
            <option>user</option>
            <option>assistant</option>
          </select>
          <textarea aria-label={`Message ${index + 1} content`} rows={2} className={input} value={message.content} onChange={(e) => update(index, { content: e.target.value })} />
          <button type="button" aria-label={`Remove message ${index + 1}`} className="text-sm text-red-700" onClick={() => onChange(messages.filter((_, i) => i !== index))}>Remove</button>
        </div>
      ))}
      <button type="button" className="text-sm font-medium text-indigo-700" onClick={() => onChange([...messages, { role: "user", content: "" }])}>Add message</button>
      {errors.map((line) => (
        <p key={line} className="text-sm text-red-700">{line}</p>
      ))}
    </fieldset>
  );
}
