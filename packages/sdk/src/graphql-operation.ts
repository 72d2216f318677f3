/** A generated GraphQL operation: one root field, its document and the names of its variables. */
export interface GraphqlOperation {
  readonly kind: 'query' | 'mutation';
  readonly field: string;
  readonly variables: readonly string[];
  readonly document: string;
}
