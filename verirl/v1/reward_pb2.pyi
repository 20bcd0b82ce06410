from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNSPECIFIED: _ClassVar[Status]
    OK: _ClassVar[Status]
    WRONG: _ClassVar[Status]
    NO_ANSWER: _ClassVar[Status]
    TIMEOUT: _ClassVar[Status]
    MEMORY_LIMIT: _ClassVar[Status]
    OUTPUT_LIMIT: _ClassVar[Status]
    RUNTIME_ERROR: _ClassVar[Status]
    COMPILE_ERROR: _ClassVar[Status]
    INVALID_INPUT: _ClassVar[Status]
    INTERNAL_ERROR: _ClassVar[Status]
STATUS_UNSPECIFIED: Status
OK: Status
WRONG: Status
NO_ANSWER: Status
TIMEOUT: Status
MEMORY_LIMIT: Status
OUTPUT_LIMIT: Status
RUNTIME_ERROR: Status
COMPILE_ERROR: Status
INVALID_INPUT: Status
INTERNAL_ERROR: Status

class ScoreRequest(_message.Message):
    __slots__ = ("samples", "request_id", "spec", "step")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[Sample]
    request_id: str
    spec: RewardSpec
    step: int
    def __init__(self, samples: _Optional[_Iterable[_Union[Sample, _Mapping]]] = ..., request_id: _Optional[str] = ..., spec: _Optional[_Union[RewardSpec, _Mapping]] = ..., step: _Optional[int] = ...) -> None: ...

class RewardSpec(_message.Message):
    __slots__ = ("correctness", "correctness_weight", "length_weight", "length_warmup_step", "group_size", "overlong_max_length", "overlong_buffer", "overlong_weight", "format", "format_weight")
    CORRECTNESS_FIELD_NUMBER: _ClassVar[int]
    CORRECTNESS_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    LENGTH_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    LENGTH_WARMUP_STEP_FIELD_NUMBER: _ClassVar[int]
    GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    OVERLONG_MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    OVERLONG_BUFFER_FIELD_NUMBER: _ClassVar[int]
    OVERLONG_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    correctness: str
    correctness_weight: float
    length_weight: float
    length_warmup_step: int
    group_size: int
    overlong_max_length: int
    overlong_buffer: int
    overlong_weight: float
    format: str
    format_weight: float
    def __init__(self, correctness: _Optional[str] = ..., correctness_weight: _Optional[float] = ..., length_weight: _Optional[float] = ..., length_warmup_step: _Optional[int] = ..., group_size: _Optional[int] = ..., overlong_max_length: _Optional[int] = ..., overlong_buffer: _Optional[int] = ..., overlong_weight: _Optional[float] = ..., format: _Optional[str] = ..., format_weight: _Optional[float] = ...) -> None: ...

class ScoreResponse(_message.Message):
    __slots__ = ("results", "request_id")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[Result]
    request_id: str
    def __init__(self, results: _Optional[_Iterable[_Union[Result, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class Sample(_message.Message):
    __slots__ = ("id", "kind", "response", "prompt", "group", "metadata", "response_tokens", "math", "code", "model")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MATH_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    response: str
    prompt: str
    group: str
    metadata: _struct_pb2.Struct
    response_tokens: int
    math: MathReference
    code: CodeReference
    model: ModelReference
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., response: _Optional[str] = ..., prompt: _Optional[str] = ..., group: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., response_tokens: _Optional[int] = ..., math: _Optional[_Union[MathReference, _Mapping]] = ..., code: _Optional[_Union[CodeReference, _Mapping]] = ..., model: _Optional[_Union[ModelReference, _Mapping]] = ...) -> None: ...

class MathReference(_message.Message):
    __slots__ = ("answer",)
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    answer: str
    def __init__(self, answer: _Optional[str] = ...) -> None: ...

class CodeReference(_message.Message):
    __slots__ = ("language", "stdio", "call", "prompt", "test", "entry_point", "time_limit_s", "memory_limit_mb", "compare", "checker", "stop_at_first_failure", "partial_credit")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    STDIO_FIELD_NUMBER: _ClassVar[int]
    CALL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    TIME_LIMIT_S_FIELD_NUMBER: _ClassVar[int]
    MEMORY_LIMIT_MB_FIELD_NUMBER: _ClassVar[int]
    COMPARE_FIELD_NUMBER: _ClassVar[int]
    CHECKER_FIELD_NUMBER: _ClassVar[int]
    STOP_AT_FIRST_FAILURE_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_CREDIT_FIELD_NUMBER: _ClassVar[int]
    language: str
    stdio: StdioTests
    call: CallTests
    prompt: str
    test: str
    entry_point: str
    time_limit_s: float
    memory_limit_mb: int
    compare: str
    checker: str
    stop_at_first_failure: bool
    partial_credit: bool
    def __init__(self, language: _Optional[str] = ..., stdio: _Optional[_Union[StdioTests, _Mapping]] = ..., call: _Optional[_Union[CallTests, _Mapping]] = ..., prompt: _Optional[str] = ..., test: _Optional[str] = ..., entry_point: _Optional[str] = ..., time_limit_s: _Optional[float] = ..., memory_limit_mb: _Optional[int] = ..., compare: _Optional[str] = ..., checker: _Optional[str] = ..., stop_at_first_failure: _Optional[bool] = ..., partial_credit: _Optional[bool] = ...) -> None: ...

class StdioTests(_message.Message):
    __slots__ = ("inputs", "outputs")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedScalarFieldContainer[str]
    outputs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, inputs: _Optional[_Iterable[str]] = ..., outputs: _Optional[_Iterable[str]] = ...) -> None: ...

class CallTests(_message.Message):
    __slots__ = ("fn_name", "inputs", "outputs")
    FN_NAME_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    fn_name: str
    inputs: _containers.RepeatedCompositeFieldContainer[_struct_pb2.ListValue]
    outputs: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    def __init__(self, fn_name: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[_struct_pb2.ListValue, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ...) -> None: ...

class ModelReference(_message.Message):
    __slots__ = ("reference",)
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    reference: str
    def __init__(self, reference: _Optional[str] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("id", "reward", "correct", "status", "message", "timings", "details_json")
    class TimingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reward: float
    correct: bool
    status: Status
    message: str
    timings: _containers.ScalarMap[str, float]
    details_json: str
    def __init__(self, id: _Optional[str] = ..., reward: _Optional[float] = ..., correct: _Optional[bool] = ..., status: _Optional[_Union[Status, str]] = ..., message: _Optional[str] = ..., timings: _Optional[_Mapping[str, float]] = ..., details_json: _Optional[str] = ...) -> None: ...

class ServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KindInfo(_message.Message):
    __slots__ = ("kind", "available", "ready", "reason")
    KIND_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    kind: str
    available: bool
    ready: bool
    reason: str
    def __init__(self, kind: _Optional[str] = ..., available: _Optional[bool] = ..., ready: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class ServerInfoResponse(_message.Message):
    __slots__ = ("version", "kinds", "languages", "math_processes", "sandbox_containers", "math_budget_s", "default_time_limit_s", "default_memory_limit_mb", "max_time_limit_s", "max_memory_limit_mb", "max_message_bytes", "max_queued_samples", "default_spec", "reward_model", "limits")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    MATH_PROCESSES_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    MATH_BUDGET_S_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TIME_LIMIT_S_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MEMORY_LIMIT_MB_FIELD_NUMBER: _ClassVar[int]
    MAX_TIME_LIMIT_S_FIELD_NUMBER: _ClassVar[int]
    MAX_MEMORY_LIMIT_MB_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUED_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_SPEC_FIELD_NUMBER: _ClassVar[int]
    REWARD_MODEL_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    version: str
    kinds: _containers.RepeatedCompositeFieldContainer[KindInfo]
    languages: _containers.RepeatedScalarFieldContainer[str]
    math_processes: int
    sandbox_containers: int
    math_budget_s: float
    default_time_limit_s: float
    default_memory_limit_mb: int
    max_time_limit_s: float
    max_memory_limit_mb: int
    max_message_bytes: int
    max_queued_samples: int
    default_spec: RewardSpec
    reward_model: str
    limits: Limits
    def __init__(self, version: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[KindInfo, _Mapping]]] = ..., languages: _Optional[_Iterable[str]] = ..., math_processes: _Optional[int] = ..., sandbox_containers: _Optional[int] = ..., math_budget_s: _Optional[float] = ..., default_time_limit_s: _Optional[float] = ..., default_memory_limit_mb: _Optional[int] = ..., max_time_limit_s: _Optional[float] = ..., max_memory_limit_mb: _Optional[int] = ..., max_message_bytes: _Optional[int] = ..., max_queued_samples: _Optional[int] = ..., default_spec: _Optional[_Union[RewardSpec, _Mapping]] = ..., reward_model: _Optional[str] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_batch_samples", "max_queued_samples", "max_queued_bytes", "max_message_bytes", "default_deadline_s", "math_budget_s", "http_read_timeout_s", "grace_s", "drain_notice_s", "ledger_max_groups", "max_message_chars", "max_echo_chars")
    MAX_BATCH_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUED_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUED_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_DEADLINE_S_FIELD_NUMBER: _ClassVar[int]
    MATH_BUDGET_S_FIELD_NUMBER: _ClassVar[int]
    HTTP_READ_TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    GRACE_S_FIELD_NUMBER: _ClassVar[int]
    DRAIN_NOTICE_S_FIELD_NUMBER: _ClassVar[int]
    LEDGER_MAX_GROUPS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_ECHO_CHARS_FIELD_NUMBER: _ClassVar[int]
    max_batch_samples: int
    max_queued_samples: int
    max_queued_bytes: int
    max_message_bytes: int
    default_deadline_s: float
    math_budget_s: float
    http_read_timeout_s: float
    grace_s: float
    drain_notice_s: float
    ledger_max_groups: int
    max_message_chars: int
    max_echo_chars: int
    def __init__(self, max_batch_samples: _Optional[int] = ..., max_queued_samples: _Optional[int] = ..., max_queued_bytes: _Optional[int] = ..., max_message_bytes: _Optional[int] = ..., default_deadline_s: _Optional[float] = ..., math_budget_s: _Optional[float] = ..., http_read_timeout_s: _Optional[float] = ..., grace_s: _Optional[float] = ..., drain_notice_s: _Optional[float] = ..., ledger_max_groups: _Optional[int] = ..., max_message_chars: _Optional[int] = ..., max_echo_chars: _Optional[int] = ...) -> None: ...
