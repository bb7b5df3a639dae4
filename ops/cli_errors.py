"""What an operator sees when a command fails for a reason they can fix: one line, no traceback."""

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from chalicelib.dynamo import error_code
from chalicelib.settings import UnsafeConfiguration
from ops.calendar_backfill import UpgradeOrderError
from ops.client_csharp import ClientGenerationError
from ops.create_tables import TableMismatch
from ops.dynamodb_local import DynamoDBLocalError
from ops.migration.legacy import LegacyFileError
from ops.migration.store import MigrationError

_BY_CODE = {
    "ResourceNotFoundException": (
        "테이블을 찾을 수 없습니다 (리전 {region}): AWS_REGION과 테이블 이름을 확인하거나 "
        "`python manage.py create-tables`를 실행하세요."
    ),
    # What the backup operations answer for a missing table: the stage was never deployed here.
    "TableNotFoundException": (
        "백업할 테이블이 없습니다 ({message}, 리전 {region}): --stage와 AWS_REGION을 확인하거나 "
        "`python manage.py deploy --stage 스테이지`로 먼저 배포하세요."
    ),
    "ProvisionedThroughputExceededException": (
        "처리량 한도를 넘었습니다: 잠시 후 다시 실행하거나 테이블을 온디맨드(PAY_PER_REQUEST)로 "
        "바꾸세요."
    ),
    "ThrottlingException": "요청이 제한되었습니다 (throttling): 잠시 후 다시 실행하세요.",
    "RequestLimitExceeded": "요청이 제한되었습니다 (throttling): 잠시 후 다시 실행하세요.",
    "ResourceInUseException": (
        "테이블이 생성·변경 중입니다 (ResourceInUse): 잠시 후 다시 실행하세요."
    ),
    "LimitExceededException": (
        "동시에 생성·변경 중인 테이블이 너무 많습니다: 잠시 후 다시 실행하세요."
    ),
    "UnrecognizedClientException": (
        "AWS 자격 증명이 올바르지 않습니다: `aws configure`로 키를 다시 설정하세요."
    ),
    "InvalidSignatureException": (
        "AWS 서명이 맞지 않습니다: 비밀 키와 리전({region})을 확인하세요."
    ),
    "ExpiredTokenException": "AWS 세션 토큰이 만료되었습니다: 다시 로그인하세요.",
    "AccessDeniedException": (
        "권한이 없습니다: 이 IAM 사용자에게 docs/deploy.md의 DynamoDB 정책을 "
        "연결하세요. ({message})"
    ),
}


# Errors that mean "AWS could not be reached with what this shell has".
_NO_AWS_ACCESS = (NoCredentialsError, PartialCredentialsError)
_NO_LOCAL_STACK = " 로컬 스택에 쓰려면 먼저 다른 터미널에서 `make run`을 실행하세요."


def explain(error: BaseException, region: str, *, no_local_stack: bool = False) -> str | None:
    """One line telling the operator what to do, or None for an error that is a bug.
    `no_local_stack`: the command would have used a running local stack, and none runs (nor
    is an endpoint configured), so it went to AWS; the line says how to start the stack."""
    line = _explain(error, region)
    if line is not None and no_local_stack and isinstance(error, _NO_AWS_ACCESS):
        line += _NO_LOCAL_STACK
    return line


def _explain(error: BaseException, region: str) -> str | None:
    if isinstance(error, _NO_AWS_ACCESS):
        return (
            "AWS 자격 증명이 없습니다: `aws configure`를 실행하거나 AWS_ACCESS_KEY_ID와 "
            "AWS_SECRET_ACCESS_KEY를 설정하세요 (.env도 됩니다)."
        )
    if isinstance(error, NoRegionError):
        return "리전이 없습니다: AWS_REGION을 설정하세요 (예: ap-northeast-2)."
    if isinstance(error, EndpointConnectionError):
        return (
            f"DynamoDB에 연결할 수 없습니다 ({error.kwargs.get('endpoint_url')}): "
            "네트워크, 리전, AWS_ENDPOINT_URL_DYNAMODB를 확인하세요."
        )
    if isinstance(error, LegacyFileError | MigrationError):
        return f"마이그레이션을 멈췄습니다: {error}"
    if isinstance(error, DynamoDBLocalError | ClientGenerationError | UpgradeOrderError):
        return str(error)
    if isinstance(error, UnsafeConfiguration):
        return f"설정을 고치세요: {error}"
    if isinstance(error, TableMismatch):
        return f"기존 테이블이 이 앱의 정의와 다릅니다: {error}"
    if isinstance(error, TimeoutError):
        return f"테이블이 활성화되지 않았습니다: {error}. 잠시 후 다시 실행하세요."
    if isinstance(error, OSError) and error.filename is not None:
        # A path the operator gave (export --out, migrate --rejects): not a bug.
        return f"{error.filename}: {error.strerror}: 경로를 확인하세요."
    if isinstance(error, ClientError) and error_code(error) == "UnknownOperationException":
        return _unsupported(error.operation_name)
    if isinstance(error, ClientError):
        template = _BY_CODE.get(error_code(error))
        if template is not None:
            message = error.response.get("Error", {}).get("Message", "")
            return template.format(region=region, message=message)
    return None


def _unsupported(operation: str) -> str:
    """An operation the DynamoDB at hand does not have (an emulator): what to use instead."""
    if "Backup" in operation:
        return (
            "이 DynamoDB는 백업을 지원하지 않습니다 (에뮬레이터): 백업은 AWS의 테이블에서 "
            "만드세요. 로컬 데이터는 `python manage.py export --out 폴더`로 저장할 수 있습니다."
        )
    what = "트랜잭션을" if operation.startswith("Transact") else "이 작업을"
    return (
        f"이 DynamoDB는 {what} 지원하지 않습니다 ({operation}): AWS의 DynamoDB나 "
        "DynamoDB Local(`make run`이 띄우는 것)을 쓰세요."
    )
