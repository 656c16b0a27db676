/** `@context-qa/common/deadline`: one deadline per request, and the budgets of the calls it makes. */
export * from './deadline';
export * from './timeout';
