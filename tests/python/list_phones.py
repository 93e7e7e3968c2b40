"""A gRPC client in another language: lists phones through Python grpcio.

Stubs are generated from proto/ at start with grpcio-tools, exactly as a
user of the API would. Prints one line per phone and the code of an
unauthenticated call, for the Rust integration test to check. Then, as a
user without the .proto files would, it lists the services through the
official grpcio-reflection client (which speaks only v1alpha) and calls
ListPhones through the descriptors reflection returned.
"""

import os
import sys
import tempfile

import grpc
from grpc_tools import protoc
import importlib.resources


def generate(proto_dir: str, out: str) -> None:
    wkt = str(importlib.resources.files("grpc_tools") / "_proto")
    files = [
        os.path.join("wadesk/v1", f)
        for f in sorted(os.listdir(os.path.join(proto_dir, "wadesk/v1")))
        if f.endswith(".proto")
    ]
    deps = ["google/api/http.proto", "google/api/annotations.proto", "wadesk/gateway/v1/options.proto"]
    rc = protoc.main(
        ["protoc", f"-I{proto_dir}", f"-I{wkt}", f"--python_out={out}", f"--grpc_python_out={out}"]
        + deps
        + files
    )
    if rc != 0:
        sys.exit(f"protoc failed with {rc}")


def main() -> None:
    out = tempfile.mkdtemp(prefix="wadesk-py-")
    generate(os.environ["WADESK_PROTO_DIR"], out)
    sys.path.insert(0, out)
    from wadesk.v1 import common_pb2, phone_pb2, phone_pb2_grpc  # noqa: E402

    channel = grpc.insecure_channel(os.environ["WADESK_ADDR"])
    stub = phone_pb2_grpc.PhoneServiceStub(channel)
    metadata = [("authorization", "Bearer " + os.environ["WADESK_TOKEN"])]
    reply = stub.ListPhones(phone_pb2.ListPhonesRequest(), metadata=metadata, timeout=10)
    for phone in reply.phones:
        print(
            phone.phone_id,
            phone.name,
            common_pb2.PhoneStatus.Name(phone.status),
            common_pb2.Plan.Name(phone.plan),
        )
    try:
        stub.ListPhones(phone_pb2.ListPhonesRequest(), timeout=10)
        print("unauthenticated: OK (unexpected)")
    except grpc.RpcError as err:
        print("unauthenticated:", err.code().name)
    by_reflection(channel, metadata)


def by_reflection(channel, metadata) -> None:
    from google.protobuf.descriptor_pool import DescriptorPool
    from google.protobuf.message_factory import GetMessageClass
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    database = ProtoReflectionDescriptorDatabase(channel)
    for service in sorted(database.get_services()):
        print("reflected service:", service)
    pool = DescriptorPool(database)
    method = pool.FindServiceByName("wadesk.v1.PhoneService").FindMethodByName("ListPhones")
    request_class = GetMessageClass(method.input_type)
    response_class = GetMessageClass(method.output_type)
    call = channel.unary_unary(
        "/wadesk.v1.PhoneService/ListPhones",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    reply = call(request_class(), metadata=metadata, timeout=10)
    for phone in reply.phones:
        print("reflected phone:", phone.phone_id, phone.name)


if __name__ == "__main__":
    main()
