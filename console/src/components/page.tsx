import type { ReactNode } from 'react';
import { Content, Flex, FlexItem, PageSection, Title } from '@patternfly/react-core';

/** Every page: an h1 with a sentence about it and its main actions, then its sections. */
export function PageFrame({ title, description, actions, children }: { title: string; description?: ReactNode; actions?: ReactNode; children: ReactNode }) {
  return (
    <>
      <PageSection>
        <Flex justifyContent={{ default: 'justifyContentSpaceBetween' }} alignItems={{ default: 'alignItemsFlexStart' }}>
          <FlexItem>
            <Title headingLevel="h1">{title}</Title>
            {description && <Content component="p">{description}</Content>}
          </FlexItem>
          {actions && <FlexItem>{actions}</FlexItem>}
        </Flex>
      </PageSection>
      <PageSection>{children}</PageSection>
    </>
  );
}
