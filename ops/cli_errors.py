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
        "권한이 없습니다: 이 IAM 사용자에게 README의 DynamoDB 정책을 연결하세요. ({message})"
    ),
}


def explain(error: BaseException, region: str) -> str | None:
    """One line telling the operator what to do, or None for an error that is a bug."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
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
    if isinstance(error, DynamoDBLocalError | ClientGenerationError):
        return str(error)
    if isinstance(error, UnsafeConfiguration):
        return f"설정을 고치세요: {error}"
    if isinstance(error, TableMismatch):
        return f"기존 테이블이 이 앱의 정의와 다릅니다: {error}"
    if isinstance(error, TimeoutError):
        return f"테이블이 활성화되지 않았습니다: {error}. 잠시 후 다시 실행하세요."
    if isinstance(error, ClientError):
        template = _BY_CODE.get(error_code(error))
        if template is not None:
            message = error.response.get("Error", {}).get("Message", "")
            return template.format(region=region, message=message)
    return None
