#!/usr/bin/python3
"""Calls a KubeVirt hook's OnDefineDomain (Callbacks v1alpha3) as virt-launcher does, with
Python's grpcio (python3-grpcio): a gRPC client we did not write.

    call-hook.py SOCKET DOMAIN_XML_FILE VMI_JSON_FILE OUT_FILE

Writes the domain XML the hook returns to OUT_FILE. The messages are two bytes fields each
(OnDefineDomainParams: domainXML = 1, vmi = 2; OnDefineDomainResult: domainXML = 1), encoded
here by hand so that no generated code is needed.
"""
import sys

import grpc

METHOD = "/kubevirt.hooks.v1alpha3.Callbacks/OnDefineDomain"


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def bytes_field(number, value):
    return varint(number << 3 | 2) + varint(len(value)) + value


def first_bytes_field(buf, number):
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        wire = key & 7
        if wire == 2:
            length, i = read_varint(buf, i)
            if key >> 3 == number:
                return buf[i : i + length]
            i += length
        elif wire == 0:
            _, i = read_varint(buf, i)
        else:
            raise ValueError(f"unexpected wire type {wire} in the reply")
    raise ValueError(f"no field {number} in the reply")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip().split("\n\n")[1])
    socket, domain_file, vmi_file, out_file = sys.argv[1:]
    with open(domain_file, "rb") as f:
        domain = f.read()
    with open(vmi_file, "rb") as f:
        vmi = f.read()
    channel = grpc.insecure_channel("unix://" + socket)
    call = channel.unary_unary(METHOD, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    try:
        reply = call(bytes_field(1, domain) + bytes_field(2, vmi), timeout=20)
    except grpc.RpcError as err:
        sys.exit(f"OnDefineDomain failed: {err.code().name}: {err.details()}")
    with open(out_file, "wb") as f:
        f.write(first_bytes_field(reply, 1))


if __name__ == "__main__":
    main()
