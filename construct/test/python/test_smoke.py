"""Smoke test of the Python package that jsii-pacmak builds: import it and
synthesize a stack (without building Rust) through the Python API."""
import os
import unittest

from aws_cdk import App, Aspects, Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_lambda_graceful_shutdown import (
    GracefulShutdown,
    GracefulShutdownAspect,
    GracefulShutdownFunction,
    GracefulShutdownLayer,
    GracefulShutdownOptions,
    ShutdownLimits,
)

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "hello-function")


def unbuilt_stack() -> Stack:
    app = App(context={"aws:cdk:bundling-stacks": []})
    return Stack(app, "Smoke")


def node_function(stack: Stack, id: str, architecture=None) -> lambda_.Function:
    return lambda_.Function(
        stack,
        id,
        runtime=lambda_.Runtime.NODEJS_22_X,
        handler="index.handler",
        code=lambda_.Code.from_inline('exports.handler = async () => "ok";'),
        architecture=architecture,
    )


class SmokeTest(unittest.TestCase):
    def test_limits(self):
        self.assertEqual(ShutdownLimits.EXTENSION_NAME, "graceful-shutdown")
        self.assertEqual(ShutdownLimits.DEFAULT_PORT, 4471)
        self.assertEqual(ShutdownLimits.reserved_by(9001), "the Lambda Runtime API")

    def test_function_add_to_and_aspect(self):
        stack = unbuilt_stack()
        fn = GracefulShutdownFunction(
            stack,
            "Rust",
            manifest_path=FIXTURE,
            binary_name="hello-function",
            graceful_shutdown=GracefulShutdownOptions(port=5000, timeout=Duration.millis(200)),
        )
        self.assertEqual(fn.graceful_shutdown_layer.architecture.name, "arm64")
        layer = GracefulShutdown.add_to(node_function(stack, "Node", lambda_.Architecture.X86_64), metrics=True)
        self.assertIsInstance(layer, GracefulShutdownLayer)
        node_function(stack, "Later", lambda_.Architecture.ARM_64)
        Aspects.of(stack).add(GracefulShutdownAspect(timeout=Duration.millis(100)))

        template = Template.from_stack(stack)
        template.resource_count_is("AWS::Lambda::LayerVersion", 2)
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Runtime": "provided.al2023",
                "Architectures": ["arm64"],
                "Environment": {"Variables": {"GRACEFUL_SHUTDOWN_PORT": "5000", "GRACEFUL_SHUTDOWN_TIMEOUT_MS": "200"}},
            },
        )
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Architectures": ["x86_64"],
                "Environment": {
                    "Variables": {
                        "GRACEFUL_SHUTDOWN_PORT": "4471",
                        "GRACEFUL_SHUTDOWN_TIMEOUT_MS": "250",
                        "GRACEFUL_SHUTDOWN_METRICS": "emf",
                    }
                },
            },
        )
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Runtime": "nodejs22.x",
                "Architectures": ["arm64"],
                "Environment": {"Variables": {"GRACEFUL_SHUTDOWN_PORT": "4471", "GRACEFUL_SHUTDOWN_TIMEOUT_MS": "100"}},
            },
        )

    def test_validation_error_reaches_python(self):
        stack = unbuilt_stack()
        with self.assertRaisesRegex(Exception, "`port` is 9001, which is used by the Lambda Runtime API"):
            GracefulShutdown.add_to(node_function(stack, "Fn"), port=9001)


if __name__ == "__main__":
    unittest.main()
