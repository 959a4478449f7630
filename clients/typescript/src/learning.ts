/**
 * Episodes, context retrieval, patterns and analysis: the learning operations of
 * `memoryd.Client` (`memoryd.client.learning`), over `/v1/episodes`,
 * `/v1/context`, `/v1/patterns` and `/v1/analysis`.
 */

import { ClientBase, type InNamespace, ns, unwrap } from "./base.js";
import type { components } from "./schema.js";

type S = components["schemas"];

/** Options of {@link LearningClient.listEpisodes}. */
export interface EpisodeListOptions extends InNamespace {
  domain?: string;
  taskType?: string;
  status?: S["Episode"]["status"];
  outcome?: string;
  limit?: number;
  cursor?: string;
}

/** Options of {@link LearningClient.listPatterns}. */
export interface PatternListOptions extends InNamespace {
  kinds?: S["Pattern"]["kind"][];
  domain?: string;
  taskType?: string;
  includeArchived?: boolean;
  limit?: number;
}

function defined<T extends Record<string, unknown>>(query: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(query).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/** The learning operations; {@link MemorydClient} extends this class. */
export abstract class LearningClient extends ClientBase {
  /** Start an episode for a task (status `running`). */
  async startEpisode(input: S["EpisodeInput"] | string, options?: InNamespace): Promise<S["Episode"]> {
    const body = typeof input === "string" ? { task_description: input } : input;
    return unwrap(
      await this.api.POST("/v1/episodes", {
        params: { query: ns(options) },
        body: body as S["EpisodeInput"],
      }),
    );
  }

  /** Append one step; resolves after the daemon committed it. */
  async logStep(episodeId: string, step: S["StepInput"], options?: InNamespace): Promise<S["Step"]> {
    const [logged] = await this.logSteps(episodeId, [step], options);
    return logged as S["Step"];
  }

  /** Append 1..1000 steps in one transaction. */
  async logSteps(
    episodeId: string,
    steps: S["StepInput"][],
    options?: InNamespace,
  ): Promise<S["Step"][]> {
    return unwrap(
      await this.api.POST("/v1/episodes/{id}/steps", {
        params: { path: { id: episodeId }, query: ns(options) },
        body: { steps },
      }),
    );
  }

  /** Complete an episode: reward, reflection, queued pattern extraction (or why not). */
  async completeEpisode(
    episodeId: string,
    body: S["CompleteBody"],
    options?: InNamespace,
  ): Promise<S["CompletionResult"]> {
    return unwrap(
      await this.api.POST("/v1/episodes/{id}/complete", {
        params: { path: { id: episodeId }, query: ns(options) },
        body,
      }),
    );
  }

  /** One episode, with its steps when `includeSteps`. Rejects with `EpisodeNotFound`. */
  async getEpisode(
    episodeId: string,
    options: InNamespace & { includeSteps?: boolean } = {},
  ): Promise<S["Episode"]> {
    return unwrap(
      await this.api.GET("/v1/episodes/{id}", {
        params: {
          path: { id: episodeId },
          query: { ...ns(options), include_steps: options.includeSteps ?? false },
        },
      }),
    );
  }

  /** A page of episodes, newest first. */
  async listEpisodes(options: EpisodeListOptions = {}): Promise<S["EpisodePage"]> {
    const query = defined({
      ...ns(options),
      domain: options.domain,
      task_type: options.taskType,
      status: options.status,
      outcome: options.outcome,
      limit: options.limit,
      cursor: options.cursor,
    });
    return unwrap(await this.api.GET("/v1/episodes", { params: { query } }));
  }

  /** Change an episode's description, tags or metadata. */
  async updateEpisode(
    episodeId: string,
    patch: S["EpisodePatch"],
    options?: InNamespace,
  ): Promise<S["Episode"]> {
    return unwrap(
      await this.api.PATCH("/v1/episodes/{id}", {
        params: { path: { id: episodeId }, query: ns(options) },
        body: patch,
      }),
    );
  }

  /** Delete an episode and its steps. */
  async deleteEpisode(episodeId: string, options?: InNamespace): Promise<void> {
    unwrap(
      await this.api.DELETE("/v1/episodes/{id}", {
        params: { path: { id: episodeId }, query: ns(options) },
      }),
    );
  }

  /** Record a checkpoint of a running episode; resolves to its hand-off pack. */
  async checkpointEpisode(
    episodeId: string,
    body: S["CheckpointBody"] = {},
    options?: InNamespace,
  ): Promise<S["HandoffPack"]> {
    return unwrap(
      await this.api.POST("/v1/episodes/{id}/checkpoint", {
        params: { path: { id: episodeId }, query: ns(options) },
        body,
      }),
    );
  }

  /** The hand-off pack to continue a running episode (`agent_id` takes it over). */
  async resumeEpisode(
    episodeId: string,
    body: S["ResumeBody"] = {},
    options?: InNamespace,
  ): Promise<S["HandoffPack"]> {
    return unwrap(
      await this.api.POST("/v1/episodes/{id}/resume", {
        params: { path: { id: episodeId }, query: ns(options) },
        body,
      }),
    );
  }

  /** The most useful past episodes and patterns for a new task, with the reasons. */
  async retrieveContext(body: S["ContextQuery"], options?: InNamespace): Promise<S["ContextResult"]> {
    return unwrap(await this.api.POST("/v1/context", { params: { query: ns(options) }, body }));
  }

  /** Patterns for a task, best first (relevance, effectiveness, recency). */
  async recommendPatterns(
    body: S["RecommendBody"],
    options?: InNamespace,
  ): Promise<S["PatternMatch"][]> {
    return unwrap(
      await this.api.POST("/v1/patterns/recommend", { params: { query: ns(options) }, body }),
    );
  }

  /** Patterns whose text matches a query. */
  async searchPatterns(body: S["SearchBody"], options?: InNamespace): Promise<S["PatternMatch"][]> {
    return unwrap(
      await this.api.POST("/v1/patterns/search", { params: { query: ns(options) }, body }),
    );
  }

  /** One pattern. Rejects with `PatternNotFound`. */
  async getPattern(patternId: string, options?: InNamespace): Promise<S["Pattern"]> {
    return unwrap(
      await this.api.GET("/v1/patterns/{id}", {
        params: { path: { id: patternId }, query: ns(options) },
      }),
    );
  }

  /** Patterns by kind, domain and task type. */
  async listPatterns(options: PatternListOptions = {}): Promise<S["Pattern"][]> {
    const query = defined({
      ...ns(options),
      kinds: options.kinds?.length ? options.kinds : undefined,
      domain: options.domain,
      task_type: options.taskType,
      include_archived: options.includeArchived,
      limit: options.limit,
    });
    return unwrap(await this.api.GET("/v1/patterns", { params: { query } }));
  }

  /** Record whether applying a pattern worked; resolves to the updated pattern. */
  async recordFeedback(
    patternId: string,
    feedback: S["FeedbackInput"],
    options?: InNamespace,
  ): Promise<S["Pattern"]> {
    return unwrap(
      await this.api.POST("/v1/patterns/{id}/feedback", {
        params: { path: { id: patternId }, query: ns(options) },
        body: feedback,
      }),
    );
  }

  /** Run pattern extraction over completed episodes now. */
  async extractPatterns(body: S["ExtractBody"] = {}): Promise<S["ExtractionReport"]> {
    return unwrap(await this.api.POST("/v1/patterns/extract", { body }));
  }

  /** Decay pattern confidence by age and archive the weakest. */
  async decayPatterns(body: S["DecayBody"] = {}, options?: InNamespace): Promise<S["DecayReport"]> {
    return unwrap(
      await this.api.POST("/v1/patterns/decay", { params: { query: ns(options) }, body }),
    );
  }

  /** Effectiveness statistics of the patterns. */
  async analyzePatterns(
    body: S["AnalyzeBody"] = {},
    options?: InNamespace,
  ): Promise<S["PatternAnalysis"]> {
    return unwrap(
      await this.api.POST("/v1/patterns/analyze", { params: { query: ns(options) }, body }),
    );
  }

  /** Trend, change point or comparison analysis of a numeric series. */
  async advancedPatternAnalysis(body: S["SeriesBody"]): Promise<S["SeriesAnalysis"]> {
    return unwrap(await this.api.POST("/v1/analysis", { body }));
  }
}
