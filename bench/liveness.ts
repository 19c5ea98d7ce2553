/** Liveness and execution orders live with the graphs (src/graphs/liveness.ts): tests check the train step's order with them. */
export * from '../src/graphs/liveness';
