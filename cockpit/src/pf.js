/* PatternFly, imported by path: the barrel "@patternfly/react-core" would bundle every component's
 * stylesheet (1.7 MB of CSS), used or not. */
export { Alert, AlertActionCloseButton, AlertGroup } from "@patternfly/react-core/dist/esm/components/Alert/index.js";
export { Breadcrumb, BreadcrumbItem } from "@patternfly/react-core/dist/esm/components/Breadcrumb/index.js";
export { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
export { Card, CardBody, CardHeader, CardTitle } from "@patternfly/react-core/dist/esm/components/Card/index.js";
export { Checkbox } from "@patternfly/react-core/dist/esm/components/Checkbox/index.js";
export { CodeBlock, CodeBlockCode } from "@patternfly/react-core/dist/esm/components/CodeBlock/index.js";
export { DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm } from "@patternfly/react-core/dist/esm/components/DescriptionList/index.js";
export { Dropdown, DropdownItem, DropdownList } from "@patternfly/react-core/dist/esm/components/Dropdown/index.js";
export { EmptyState, EmptyStateBody } from "@patternfly/react-core/dist/esm/components/EmptyState/index.js";
export { Form, FormGroup, FormHelperText } from "@patternfly/react-core/dist/esm/components/Form/index.js";
export { HelperText, HelperTextItem } from "@patternfly/react-core/dist/esm/components/HelperText/index.js";
export { Label } from "@patternfly/react-core/dist/esm/components/Label/index.js";
export { MenuToggle } from "@patternfly/react-core/dist/esm/components/MenuToggle/index.js";
export { Modal, ModalBody, ModalFooter, ModalHeader } from "@patternfly/react-core/dist/esm/components/Modal/index.js";
export { Page, PageSection } from "@patternfly/react-core/dist/esm/components/Page/index.js";
export { Radio } from "@patternfly/react-core/dist/esm/components/Radio/index.js";
export { Spinner } from "@patternfly/react-core/dist/esm/components/Spinner/index.js";
export { TextInput } from "@patternfly/react-core/dist/esm/components/TextInput/index.js";
export { Title } from "@patternfly/react-core/dist/esm/components/Title/index.js";
export { Flex, FlexItem } from "@patternfly/react-core/dist/esm/layouts/Flex/index.js";
export { Gallery } from "@patternfly/react-core/dist/esm/layouts/Gallery/index.js";
export { Stack } from "@patternfly/react-core/dist/esm/layouts/Stack/index.js";
export { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table/dist/esm/components/Table/index.js";
export { EllipsisVIcon } from "@patternfly/react-icons/dist/esm/icons/ellipsis-v-icon.js";
