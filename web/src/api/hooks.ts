import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import type { GroupBy, ModelStatusEvent, StepConfig } from "./types";
import { useApiClient } from "./context";

/** Retry backoff of the status stream: 1 s doubling to 30 s. */
export function backoffMs(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
}

export const useAvailableModels = () => {
  const client = useApiClient();
  return useQuery({ queryKey: ["available"], queryFn: client.available });
};

export const useRecommendations = (taskType?: string | null) => {
  const client = useApiClient();
  return useQuery({
    queryKey: ["recommendations", taskType ?? null],
    queryFn: () => client.recommendations(taskType),
  });
};

export const useStepSchema = () => {
  const client = useApiClient();
  return useQuery({ queryKey: ["step-schema"], queryFn: client.stepSchema, staleTime: 60_000 });
};

export const useUsageSeries = (days: number, groupBy: GroupBy) => {
  const client = useApiClient();
  return useQuery({
    queryKey: ["usage-series", days, groupBy],
    queryFn: () => client.usageSeries(days, groupBy),
  });
};

export const usePerformance = (days: number) => {
  const client = useApiClient();
  return useQuery({ queryKey: ["performance", days], queryFn: () => client.performance(days) });
};

export const useBudget = () => {
  const client = useApiClient();
  return useQuery({ queryKey: ["budget"], queryFn: client.budget, refetchInterval: 30_000 });
};

export const useExecution = (executionId: string | null) => {
  const client = useApiClient();
  return useQuery({
    queryKey: ["execution", executionId],
    queryFn: () => client.executionUsage(executionId ?? ""),
    enabled: Boolean(executionId),
  });
};

export const useStepEstimate = (step: StepConfig | null, input: Record<string, unknown> = {}) => {
  const client = useApiClient();
  return useQuery({
    queryKey: ["estimate", step, input],
    queryFn: () => client.estimateStep(step ?? {}, input, true),
    enabled: step !== null,
    retry: false,
    placeholderData: (previous) => previous,
  });
};

export const useStepCheck = (step: StepConfig | null) => {
  const client = useApiClient();
  return useQuery({
    queryKey: ["validate", step],
    queryFn: () => client.validateStep(step ?? {}),
    enabled: step !== null,
    placeholderData: (previous) => previous,
  });
};

/** The what-if replay: run on demand (it reads the whole window of the ledger). */
export const useWhatIf = () => {
  const client = useApiClient();
  return useMutation({ mutationFn: client.whatIf });
};

export const useHealthCheck = () => {
  const client = useApiClient();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: client.healthCheck,
    onSettled: () => {
      void queries.invalidateQueries({ queryKey: ["status"] });
      void queries.invalidateQueries({ queryKey: ["available"] });
    },
  });
};

/** One status stream per client, however many components want live status. */
const streams = new WeakMap<object, { users: number; stop: () => void }>();

function followStatus(
  client: ReturnType<typeof useApiClient>,
  publish: (statuses: ModelStatusEvent[]) => void,
): () => void {
  const abort = new AbortController();
  let failures = 0;
  void (async () => {
    while (!abort.signal.aborted) {
      try {
        await client.streamStatus((statuses) => {
          failures = 0;
          publish(statuses);
        }, abort.signal);
      } catch {
        if (abort.signal.aborted) return;
      }
      failures += 1;
      await new Promise((resolve) => setTimeout(resolve, backoffMs(failures)));
    }
  })();
  return () => abort.abort();
}

/** Every model's live status by name: loaded once, then kept current by the server-sent
 * status stream (read with fetch so the token stays in a header). Components share one
 * stream per client; a broken stream is reopened with backoff, the last list staying shown. */
export function useLiveStatus(): Record<string, ModelStatusEvent> | undefined {
  const client = useApiClient();
  const queries = useQueryClient();
  const { data } = useQuery({ queryKey: ["status"], queryFn: client.status });
  useEffect(() => {
    let shared = streams.get(client);
    if (!shared) {
      shared = {
        users: 0,
        stop: followStatus(client, (statuses) => queries.setQueryData(["status"], statuses)),
      };
      streams.set(client, shared);
    }
    shared.users += 1;
    const mine = shared;
    return () => {
      mine.users -= 1;
      if (mine.users === 0) {
        mine.stop();
        streams.delete(client);
      }
    };
  }, [client, queries]);
  return data ? Object.fromEntries(data.map((s) => [s.model, s])) : undefined;
}
