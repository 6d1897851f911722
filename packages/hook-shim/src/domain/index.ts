// Domain XML mutation: turns QEMU's D-Bus display on in a libvirt domain. Pure: strings in,
// strings out, no I/O.
export { mutateDomain, mutateDomainWithReport, type DomainMutation, type DomainMutationOptions } from './mutate.js';
export { DomainXmlError, type DomainXmlErrorCode } from './errors.js';
export { escapeDbusAddressValue, unixBusAddress } from './dbus-address.js';
