import { GraphQLError, type ValidationRule } from 'graphql';

/**
 * Bounds the size of a query: the number of field selections in the document (aliases included), so a
 * single request cannot ask for the same expensive field thousands of times. Depth is bounded separately.
 */
export function maxFieldsRule(maxFields: number): ValidationRule {
  return (context) => {
    let fields = 0;
    return {
      Field() {
        fields++;
      },
      Document: {
        leave() {
          if (fields > maxFields) {
            context.reportError(
              new GraphQLError(`query: selects ${fields} fields, more than the limit of ${maxFields}`, {
                extensions: { code: 'BAD_USER_INPUT', field: 'query' },
              }),
            );
          }
        },
      },
    };
  };
}
