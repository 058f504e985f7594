import type { ReactNode } from 'react';
import { Alert, Bullseye, EmptyState, EmptyStateActions, EmptyStateBody, EmptyStateFooter, Spinner } from '@patternfly/react-core';
import { InnerScrollContainer, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import type { ApiError } from '../api';

export type Column<T> = { title: string; render: (row: T) => ReactNode; nowrap?: boolean };

/** A table with the states a list can be in: loading, failed, empty (saying what to do next), rows. */
export function DataTable<T>(props: {
  label: string;
  columns: Column<T>[];
  rows: T[] | undefined;
  rowKey: (row: T) => string;
  loading?: boolean;
  error?: ApiError;
  empty: { title: string; body: ReactNode; action?: ReactNode };
}) {
  if (props.error && !props.rows) return <Alert variant="danger" isInline title={`${props.error.code}: ${props.error.message}`} />;
  if (!props.rows) {
    return (
      <Bullseye>
        <Spinner size="lg" aria-label={`Loading ${props.label}`} />
      </Bullseye>
    );
  }
  if (props.rows.length === 0) {
    return (
      <EmptyState titleText={props.empty.title} headingLevel="h2" variant="sm">
        <EmptyStateBody>{props.empty.body}</EmptyStateBody>
        {props.empty.action && (
          <EmptyStateFooter>
            <EmptyStateActions>{props.empty.action}</EmptyStateActions>
          </EmptyStateFooter>
        )}
      </EmptyState>
    );
  }
  // A wide table scrolls sideways inside the page rather than running off its edge (focusable, so the keyboard can scroll it).
  return (
    <InnerScrollContainer tabIndex={0} role="region" aria-label={`${props.label} table`}>
      <Table aria-label={props.label} variant="compact" gridBreakPoint="grid-md">
        <Thead>
          <Tr>
            {props.columns.map((c) => (
              <Th key={c.title} modifier={c.nowrap ? 'nowrap' : 'wrap'}>
                {c.title}
              </Th>
            ))}
          </Tr>
        </Thead>
        <Tbody>
          {props.rows.map((row) => (
            <Tr key={props.rowKey(row)}>
              {props.columns.map((c) => (
                <Td key={c.title} dataLabel={c.title} modifier={c.nowrap ? 'nowrap' : undefined}>
                  {c.render(row)}
                </Td>
              ))}
            </Tr>
          ))}
        </Tbody>
      </Table>
    </InnerScrollContainer>
  );
}
