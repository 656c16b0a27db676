/**
 * Which models answer, in which order, by which strategy: a concrete model
 * answers alone; a routing alias is a strategy over the preference order.
 */
import { type CallTableEntry, maxModelCalls, type ModelName, type Strategy } from '@context-qa/common/contract';
import { UnknownModel } from './outcomes';

/** Routing aliases (the chat route's `model`); `auto` is the configured strategy. */
export const ALIASES = {
  auto: undefined,
  primary: 'primary',
  fastest: 'fastest',
  both: 'both',
  sequential: 'sequential',
  fuse: 'fuse',
} as const;
export type Alias = keyof typeof ALIASES;

export interface Route {
  order: readonly ModelName[];
  strategy: Strategy;
}

export interface Routing {
  /** Preference order: answer with the first model that succeeded. */
  preference: readonly ModelName[];
  /** The strategy behind `auto`. */
  autoStrategy: Strategy;
}

/** `model` → which models, in which order, by which strategy. */
export function routeFor(model: string, routing: Routing): Route {
  if (routing.preference.includes(model)) return { order: [model], strategy: 'primary' };
  if (Object.hasOwn(ALIASES, model))
    return { order: routing.preference, strategy: ALIASES[model as Alias] ?? routing.autoStrategy };
  throw new UnknownModel(`the model "${model}" does not exist`);
}

/** A `/v1/models` entry: the contract's call table entry (what a request may cost in model calls) and its owner. */
export type ModelCard = CallTableEntry & { owned_by: string };

/** `GET /v1/models`: the concrete models (name and provider), then the routing aliases. */
export function modelCards(catalogue: readonly { name: ModelName; provider: string }[], routing: Routing): ModelCard[] {
  const ids = [
    ...catalogue.map((m) => ({ id: m.name, owned_by: m.provider })),
    ...Object.keys(ALIASES).map((id) => ({ id, owned_by: 'context-qa' })),
  ];
  return ids.map((m) => {
    const route = routeFor(m.id, routing);
    return { ...m, max_calls: maxModelCalls(route.strategy, route.order.length) };
  });
}
