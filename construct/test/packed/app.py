"""A Python shop's CDK app, synthesized from the installed wheel: Python
functions on both architectures, one through add_to (with metrics), the other
through the Aspect."""
import sys

from aws_cdk import App, Aspects, Duration, Stack
from aws_cdk import aws_lambda as lambda_
from cdk_lambda_graceful_shutdown import GracefulShutdown, GracefulShutdownAspect

app = App(outdir=sys.argv[1])
stack = Stack(app, "PythonShop")


def fn(id: str, architecture: lambda_.Architecture) -> lambda_.Function:
    return lambda_.Function(
        stack,
        id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        architecture=architecture,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return 'ok'\n"),
    )


orders = fn("Orders", lambda_.Architecture.ARM_64)
GracefulShutdown.add_to(orders, timeout=Duration.millis(200), metrics=True)
GracefulShutdown.metrics(orders).metric_runtime_killed().create_alarm(stack, "OrdersKilled", threshold=1, evaluation_periods=1)
fn("Billing", lambda_.Architecture.X86_64)
Aspects.of(stack).add(GracefulShutdownAspect())
app.synth()
