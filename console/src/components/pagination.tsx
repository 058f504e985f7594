import { useState } from 'react';
import { Pagination } from '@patternfly/react-core';

/**
 * Pages that the server cuts: page and page size to ask the server with, `first()` when a filter
 * changes, and the pagination bar for the top (compact) and the bottom of a list.
 */
export function useServerPaging(label: string, initialPageSize: number) {
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(initialPageSize);
  const bar = (total: number, bottom = false) => (
    <Pagination
      itemCount={total}
      page={page}
      perPage={pageSize}
      perPageOptions={[10, 20, 50, 100].map((n) => ({ title: String(n), value: n }))}
      onSetPage={(_e, p) => setPage(p)}
      onPerPageSelect={(_e, n) => {
        setPageSize(n);
        setPage(1);
      }}
      variant={bottom ? 'bottom' : 'top'}
      isCompact={!bottom}
      titles={{ paginationAriaLabel: bottom ? `${label} (bottom)` : label }}
    />
  );
  return { page, pageSize, first: () => setPage(1), bar };
}
