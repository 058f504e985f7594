import type { ReactNode } from 'react';
import { DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm } from '@patternfly/react-core';

export type Detail = [term: string, value: ReactNode];

/** Term and value pairs, side by side (stacked on a narrow window). */
export function Details({ entries }: { entries: Detail[] }) {
  return (
    <DescriptionList isHorizontal isCompact>
      {entries.map(([term, value]) => (
        <DescriptionListGroup key={term}>
          <DescriptionListTerm>{term}</DescriptionListTerm>
          <DescriptionListDescription>{value}</DescriptionListDescription>
        </DescriptionListGroup>
      ))}
    </DescriptionList>
  );
}
