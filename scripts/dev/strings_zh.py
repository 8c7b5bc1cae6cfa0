"""简体中文文案 (zh-Hans)，结构与 strings_en.py 一一对应。"""

# The add / update person fields are core's; run with the repository on sys.path.
from custom_components.community_gate.core.person_fields import ACTION_PERSON_KEYS

REASONS = {
    "granted": "准许通行",
    "remote_open": "远程开门",
    "emergency_open": "紧急开门",
    "unknown_credential": "未知凭证",
    "malformed_credential": "凭证格式错误",
    "credential_revoked": "凭证已注销",
    "credential_not_yet_valid": "凭证尚未生效",
    "credential_expired": "凭证已过期",
    "credential_used_up": "凭证次数已用完",
    "person_blocked": "人员已被禁止通行",
    "person_not_yet_valid": "人员尚未生效",
    "person_expired": "人员已失效",
    "lease_expired": "租约已到期",
    "gate_not_allowed": "无权使用此门",
    "direction_not_allowed": "通行方向不允许",
    "outside_schedule": "不在允许时段",
    "method_not_accepted": "此门不接受该通行方式",
    "throttled": "失败次数过多（已暂时锁定）",
    "not_permitted": "不允许通行（详情仅物业可见）",
}
METHODS = {
    "face": "人脸",
    "card": "门禁卡",
    "id_card": "身份证",
    "qr": "二维码通行证",
    "pin": "密码",
    "fingerprint": "指纹",
    "remote": "远程",
    "emergency": "紧急",
}
KINDS = {k: METHODS[k] for k in ("card", "id_card", "pin", "qr", "fingerprint")}
ROLES = {
    "tenant": "承租人（主申请人）",
    "co_resident": "同住人",
    "visitor": "访客",
    "service": "服务人员（快递、外卖、施工）",
    "staff": "物业人员",
}
ENTRY_FIELD = {
    "name": "小区",
    "description": "要使用的小区条目。仅在设置了多个小区时需要。",
}

GATE_DATA = {
    "name": "名称",
    "gate_id": "门 ID",
    "kind": "类型",
    "direction": "方向",
    "actuator": "开门执行器",
    "pulse_seconds": "开门脉冲",
    "camera": "摄像头",
    "stream_url": "视频流地址",
    "presence": "人员感应器",
    "building": "楼栋",
    "methods": "接受的通行方式",
    "mqtt_device": "MQTT 控制器",
}
GATE_DESC = {
    "name": "显示在门设备上，例如“东门”或“3 号楼单元门”。",
    "gate_id": "读卡器和动作使用的简短 ID（字母、数字、_ . -）。留空则由名称生成。之后不能修改。",
    "kind": "小区大门允许所有住户通行；单元门只允许本楼住户及其访客通行。",
    "direction": "人员经过此读卡器的方向。",
    "actuator": "用于开门的锁、开关（继电器）、卷帘（道闸）或按钮实体。",
    "pulse_seconds": "开关保持接通、或锁保持解锁的时长，之后复位。",
    "camera": "可选：此门用于人脸识别的摄像头。",
    "stream_url": "可选：门口摄像头的 rtsp:// 或 http(s):// 视频流，直接读取（比摄像头实体延迟更低；两者都设置时使用视频流）。地址中的账号密码不会写入日志。",
    "presence": "可选：检测门前有人的二元传感器。",
    "building": "单元门必填：此门服务的楼栋。",
    "methods": "此门读卡器接受的凭证。人脸不得作为唯一的通行方式：请同时保留门禁卡、二维码或密码。",
    "mqtt_device": "可选：此门 MQTT 控制器的设备 ID（如 gc-east）。其读卡器的信息归入此门；未选执行器实体时由它的继电器开门。请用 provision_device 动作为其生成密钥。",
}

EXCEPTIONS = {
    "face_duplicate": "该人脸已属于人员“{other_person_id}”（距离 {distance}）。一张人脸只能对应一人：请检查照片。如果确为不同的人（兄弟姐妹、双胞胎），请重新登记并将“{other_person_id}”填为确认不是此人。",
    "unknown_stranger": "没有陌生人“{cluster_id}”（可能已过期、已合并或已归属）。",
    "face_unavailable": "人脸识别未运行（{why}）。门禁卡、密码和二维码通行仍可使用。",
    "camera_unavailable": "摄像头 {entity_id} 没有图像。",
    "image_source_required": "请提供摄像头（camera_entity_id）或图片文件（file_path），或上传照片。",
    "consent_required": "人员“{person_id}”没有人脸识别的同意记录。请先记录同意；门禁卡、密码和二维码通行不需要此同意。",
    "image_invalid": "无法使用该图片（{why}）。",
    "face_quality": "该照片无法用于登记（{why}）。",
    "face_models_missing": "未安装人脸识别模型。人脸通行已关闭；门禁卡、密码和二维码通行仍可使用。",
    "face_engine_failed": "人脸识别引擎加载失败（详情见 Home Assistant 日志）。人脸通行已关闭；门禁卡、密码和二维码通行仍可使用。修复安装后请重新加载该小区。",
    "database_unavailable": "无法打开或写入小区数据库 {path}：{error}。请检查路径、磁盘空间和权限。",
    "database_corrupt": "小区数据库 {path} 已损坏（{error}）。文件未被改动；请从备份恢复，或将其移走以创建新数据库。",
    "database_too_new": "小区数据库 {path} 由更新版本的 Community Gate 写入（{error}）。请升级本集成。",
    "database_error": "数据库错误：{error}",
    "estate_topic_taken": "此小区的名称会生成 MQTT 主题“{topic}”，而小区“{other}”已在使用它。两个小区不能共用一个主题树：请重命名其中一个（⋮ → 重新配置），然后重新加载此小区。",
    "key_file_error": "{path} 旁的小区密钥文件无法读取或已损坏（{error}）。没有它就无法核验已存储的卡号和密码；请从备份恢复。",
    "not_found": "未找到。",
    "unknown_unit": "不存在 ID 为“{unit_id}”的房屋。",
    "unknown_person": "不存在 ID 为“{person_id}”的人员。",
    "unknown_credential": "不存在 ID 为“{credential_id}”的凭证。",
    "unknown_gate": "不存在 ID 为“{gate_id}”的门。请先将其添加为小区的门。",
    "unknown_device": "不存在 ID 为“{device_id}”的 MQTT 设备。请先登记。",
    "device_in_use": "设备“{device_id}”是门“{gate_id}”的继电器：请先为该门换一个继电器，或重新登记该设备以更换其密钥。",
    "mqtt_unavailable": "门 {gate_id} 未打开：它通过 MQTT 控制器开门，而 Home Assistant 的 MQTT 集成尚未设置（见“修复”）。此次尝试已作为通行记录 {passage_id} 记入日志。",
    "duplicate": "已存在。",
    "duplicate_unit": "房屋“{unit_id}”已存在（或已有房屋使用相同的楼栋和房号）。",
    "duplicate_person": "ID 为“{person_id}”的人员已存在。",
    "duplicate_credential": "此{kind}凭证已登记（凭证 ID“{credential_id}”已存在，或相同的卡、密码或令牌已属于他人）。请先注销旧凭证。",
    "invalid_value": "{field} 的值无效。",
    "invalid_credential_value": "{kind} 的值无效：{why}。",
    "pin_too_short": "本小区的密码至少需要 {min} 位数字。",
    "invalid_schedule": '时段设置无效（{why}）。请使用形如 {{"days": [1, 2, 3, 4, 5], "start": "07:00", "end": "22:00"}} 的时段列表（days 中 1 为周一，7 为周日）。',
    "invalid_validity": "有效期的结束时间必须晚于开始时间。",
    "visitor_pass_too_long": "访客通行证的有效期最长为 {max_days} 天。",
    "invalid_id": "{field} 无效：请使用 1 到 64 个字母、数字、_ . 或 -，并以字母或数字开头。",
    "credential_already_revoked": "凭证“{credential_id}”已被注销。",
    "unit_in_use": "房屋“{unit_id}”仍有 {count} 名人员。",
    "core_error": "请求无法完成。",
    "entry_not_loaded": "小区条目“{entry_id}”未设置或未加载。",
    "no_estate": "尚未设置小区。请先添加 Community Gate 集成。",
    "estate_ambiguous": "设置了多个小区：请用 config_entry_id 指明是哪一个。",
    "admin_required": "只有管理员可以执行 {action} 操作。",
    "face_engine_mismatch": "{engine} 引擎的人脸数据不能与其他引擎的数据比较，或该引擎未知。请用小区当前的引擎重新录入人脸。",
    "value_in_panel": "{kind}号码不能通过操作传入，因为 Home Assistant 会记录每次操作的数据。请在 Community Gate 物业面板中录入（桌面 USB 读卡器可直接输入到该栏）。",
    "visitor_host_required": "请提供已有访客的 person_id，或被访房屋的 unit_id。",
    "actuator_missing": "门 {gate_id} 未打开：其执行器实体不存在。此次尝试已作为通行记录 {passage_id} 记入日志。",
    "actuator_unavailable": "门 {gate_id} 可能未打开：其执行器不可用（实体不可用，或 MQTT 控制器离线或无法连接）。此次尝试已作为通行记录 {passage_id} 记入日志。",
    "actuator_timeout": "门 {gate_id} 可能未打开：其执行器未及时响应。此次尝试已作为通行记录 {passage_id} 记入日志。",
    "actuator_failed": "门 {gate_id} 未打开：其执行器报告了错误。此次尝试已作为通行记录 {passage_id} 记入日志。",
    "emergency_not_opened": "紧急全开已启用，但以下门未打开：{gate_ids}。每次尝试均已记入通行日志；请派人前往开门。",
    "terminal_unauthenticated": "只有已配置的终端可以请求人脸判定：请用终端的密钥签名请求（见 docs/mqtt.md）。Home Assistant 登录不够。",
    "terminal_wrong_gate": "此终端未配置用于该门。",
    "terminal_replay": "请求的计数器已被此设备使用过（HTTP 或 MQTT）。每个请求都需要更大的计数器。",
    "terminal_stale": "请求的时间与中枢时钟相差超过 5 分钟。请校准终端时钟，或发送 ts 0。",
    "actuator_domain": "执行器必须是锁、开关、卷帘或按钮。",
}

FIELD_DESC = {
    "notice_version": ("告知书版本", "此人阅读并同意的隐私告知书版本。"),
    "guardian": ("由监护人同意", "由父母或监护人作出的同意（不满 14 周岁的儿童必须）。"),
    "variant": ("类型", "普通人脸，或同一人戴口罩的照片（作为额外参照）。"),
    "camera_entity_id": ("摄像头", "使用此摄像头的当前画面拍照。"),
    "file_path": ("图片文件", "位于 allowlist_external_dirs 所列目录中的图片文件。"),
    "different_from": (
        "确认不是此人",
        "仅当人脸因属于他人被拒绝、且您已核实两人确为不同的人（兄弟姐妹、双胞胎）时填写：那个人的 ID。此操作会记入审计日志；在门口，与两人都相近的人脸会被拒绝而不是猜测。",
    ),
    "unit_id": ("房屋 ID", "房屋的编号，例如“3-2-1201”。"),
    "building": ("楼栋", "楼栋名称或编号。"),
    "number": ("房号", "楼栋内的房号。"),
    "rent_arrears": ("欠租", "该房屋拖欠租金。其人员仍可通行，但会通知物业人员。"),
    "lease_until": ("租约到期", "租约结束时间。到期后住户将被拒绝通行。"),
    "person_id": ("人员 ID", "人员的 ID。添加时留空则自动生成。"),
    "cluster_id": ("陌生人 ID", "未知人脸聚类的 ID（stranger_...），见通行记录。"),
    "role": ("身份", "此人在小区中的身份。"),
    "company": ("单位", "服务人员所属的公司。"),
    "special_attention": ("重点关注", "留意长时间未出现（例如独居老人）。"),
    "lives_alone": ("独居", "此人独自居住。"),
    "blocked": ("禁止通行", "在所有门拒绝此人。"),
    "valid_from": ("生效时间", "有效期开始。留空表示立即生效。"),
    "valid_until": ("失效时间", "有效期结束。留空表示长期有效。"),
    "allowed_gates": ("允许的门", "此人可使用的门 ID。留空表示按身份默认。"),
    "schedule": (
        "通行时段",
        '每周时段，例如 [{"days": [1,2,3,4,5], "start": "08:00", "end": "18:00"}]。留空表示任何时间。',
    ),
    "kind": ("类型", "凭证类型。"),
    "credential_id": ("凭证 ID", "凭证的 ID。"),
    "max_uses": ("最多次数", "通行达到此次数后拒绝该凭证。"),
    "hours": ("小时数", "未给出结束时间时的有效小时数。"),
    "gate_id": ("门", "门 ID。"),
    "direction": ("方向", "进或出。默认为门的方向。"),
    "reason": ("原因", "原因，记入通行日志。"),
    "active": ("启用", "开启或关闭紧急全开。"),
    "device_id": ("设备 ID", "MQTT 现场设备（门控制器、读卡器或终端）的 ID，与其配置中一致。"),
}

SERVICES = {
    "add_unit": (
        "添加房屋",
        "登记一个房屋（楼栋和房号）。",
        ["unit_id", "building", "number", "rent_arrears", "lease_until"],
    ),
    "update_unit": (
        "更新房屋",
        "修改房屋信息，例如欠租标记或租约到期时间。",
        ["unit_id", "building", "number", "rent_arrears", "lease_until"],
    ),
    "add_person": (
        "添加人员",
        "登记住户、访客、服务人员或物业人员。姓名在物业面板中录入，绝不经由操作传入（Home Assistant 会记录操作数据）。",
        list(ACTION_PERSON_KEYS),
    ),
    "update_person": (
        "更新人员",
        "修改人员的信息、标记、有效期、可用的门或通行时段。",
        list(ACTION_PERSON_KEYS),
    ),
    "remove_person": (
        "删除人员",
        "删除人员及其凭证。历史通行记录保留至保存期限到期。",
        ["person_id"],
    ),
    "add_credential": (
        "添加凭证",
        "为人员生成密码或二维码令牌，仅在应答中出现一次。门禁卡号、身份证号和指纹编号请在物业面板中录入：Home Assistant 会记录每次操作的数据，因此任何操作都不接收凭证值。",
        ["person_id", "kind", "credential_id", "valid_from", "valid_until", "max_uses"],
    ),
    "revoke_credential": ("注销凭证", "使凭证无法再打开任何门。", ["credential_id"]),
    "issue_visitor_pass": (
        "签发访客通行证",
        "为已有访客或被访房屋的新访客创建二维码通行证，并返回其令牌。",
        [
            "person_id",
            "unit_id",
            "valid_from",
            "valid_until",
            "hours",
            "allowed_gates",
            "max_uses",
        ],
    ),
    "open_gate": ("开门", "远程开门，并连同原因记入日志。", ["gate_id", "reason", "direction"]),
    "set_emergency": (
        "紧急模式",
        "紧急全开：打开所有门并放行所有人，直到关闭。记入日志。",
        ["active", "reason"],
    ),
    "record_consent": (
        "记录同意",
        "记录某人（或其监护人）依据指定告知书同意人脸识别。登记人脸前必须先记录。",
        ["person_id", "notice_version", "guardian"],
    ),
    "withdraw_consent": (
        "撤回同意",
        "撤回人脸识别同意并立即删除其人脸数据。门禁卡、密码和二维码通行继续有效。",
        ["person_id"],
    ),
    "provision_device": (
        "登记现场设备",
        "为绑定到某个门的现场设备（MQTT 控制器，或经 MQTT 或 HTTP 连接的人脸终端）生成新密钥，并仅返回这一次。请将其写入设备的 secrets；新密钥会替换旧密钥。",
        ["device_id", "gate_id"],
    ),
    "remove_device": (
        "移除现场设备",
        "删除一台现场设备及其密钥（拆下的读卡器、丢失或被盗的终端）：此后它签名的一切消息都会被拒绝。作为某个门继电器的设备不能移除。",
        ["device_id"],
    ),
    "enroll_face": (
        "登记人脸",
        "从摄像头或图片文件登记某人的参照照片。未同意、照片质量差或该人脸已属于他人时拒绝。",
        ["person_id", "variant", "camera_entity_id", "file_path", "different_from"],
    ),
    "assign_stranger": (
        "将陌生人归属到人员",
        "说明某个未知人脸是谁：该陌生人的通行记录改为此人员 ID，陌生人 ID 随即删除。若此人已同意人脸识别，此后即可识别。",
        ["cluster_id", "person_id"],
    ),
}

GATE_KINDS = {"estate_gate": "小区大门", "building_door": "单元门"}
DIRECTIONS = {"in": "进", "out": "出", "both": "双向"}
CONFIG = {
    "user_title": "设置小区",
    "user_desc": "为小区命名并选择数据库位置。除非填写绝对路径，数据库是 Home Assistant 配置目录中的一个 SQLite 文件。之后用“添加门”添加各个门。",
    "reconf_title": "修改小区",
    "reconf_desc": "重命名小区，或改用另一个数据库文件。",
    "estate_data": {"name": "小区名称", "db_path": "数据库文件"},
    "estate_data_desc": {
        "name": "显示在小区设备上，例如“枫林苑”。",
        "db_path": "保存人员、凭证和通行记录的 SQLite 文件。相对路径位于配置目录内。",
    },
    "db_errors": {
        "db_path_empty": "请填写数据库文件名。",
        "database_unavailable": "无法在此创建或打开数据库文件。请检查路径和权限。",
        "database_corrupt": "该文件不是可用的 Community Gate 数据库（已损坏或不是 SQLite）。未做任何改动。",
        "database_too_new": "该数据库由更新版本的 Community Gate 写入。",
        "database_error": "数据库无法使用。",
        "estate_topic_taken": "另一个小区的名称会生成相同的 MQTT 主题（名称按小写字母、数字和下划线比较）。请换一个名称，以免两个小区的设备共用一个主题树。",
    },
    "abort": {
        "already_configured": "已有小区使用此数据库文件。",
        "reconfigure_successful": "小区已更新。",
        "database_in_use": "另一个小区已在使用该数据库文件。",
    },
    "options_title": "小区选项",
    "retention": "通行记录保存期限",
    "retention_desc": "超过此期限的通行记录每晚删除。",
    "retention_err": "请选择 1 到 3650 天。",
    "face_engine": "人脸引擎",
    "face_engine_desc": "ncnn（YuNet + SFace）能检出戴口罩的脸和小脸，区分不同的人也准确得多；dlib 是与 face_recognition 兼容的引擎。切换后，有留存照片的人会自动重新编码，其余的人需要重新采集照片（修复提示会显示人数），在此期间门卡和密码照常可用。",
    "face_strictness": "人脸识别严格程度",
    "face_strictness_desc": "陌生人被误认作可通行人员的频率。可通行某个门的人越多，该门的阈值越严，以达到此目标；但引擎的标定无法把每次比对的误认率定得低于百万分之三：一个门可通行的人超过几百人后，通过的陌生人会更多（实测登记 2,000 人时为 0.53%，标准和严格相同）。这类门请使用“人脸加卡”。越严格，住户越常需要重试。",
    "invalid_choice": "请从列表中选择。",
    "capture_interval": "摄像头取帧间隔",
    "capture_interval_desc": "摄像头门两次识别之间的间隔。",
    "capture_interval_err": "请选择 0.1 到 10 秒。",
    "face_debounce": "同一人脸静默时间",
    "face_debounce_desc": "同一门口在此时间内再次看到同一人脸时不重复记录。",
    "face_debounce_err": "请选择 1 到 300 秒。",
    "min_pin_length": "密码最短位数",
    "min_pin_length_desc": "新登记的密码至少需要的位数。之前登记的密码仍可使用，其通行记录标记为 short_pin，便于更换。",
    "min_pin_length_err": "请选择 4 到 8 位。",
    "episode_window": "重复拒绝：合并为一行的时间",
    "episode_window_desc": "同一陌生人或同一人在此时间内于同一门口再次被拒绝时，只更新通行记录中的一行（首次和最后一次出现时间、次数），不再新增一行。每次尝试仍会触发事件。刷卡和密码的失败尝试始终各记一行。设为 0 则关闭。",
    "episode_window_err": "请选择 0 到 600 秒。",
}
GATE = {
    "entry_type": "门",
    "add": "添加门",
    "reconf": "重新配置门",
    "add_desc": "一个大门或单元门及其读卡器。选择用于开门的实体；摄像头和人员感应器可选。",
    "reconf_desc": "修改门 {gate_id}。其 ID 保持不变，历史记录不会分散。",
    "errors": {
        "name_empty": "请为门命名。",
        "actuator_domain": "执行器必须是锁、开关、卷帘或按钮实体。",
        "actuator_required": "请选择开门的实体，或填写此门的 MQTT 控制器。",
        "mqtt_device_invalid": "请使用 1 到 64 个字母、数字、_ . 或 -，并以字母或数字开头。",
        "pulse_out_of_range": "请选择 1 到 60 秒。",
        "building_required": "单元门需要填写所服务的楼栋。",
        "methods_required": "请至少选择一种通行方式。",
        "openers_invalid": "请从用户列表中选择远程开门人员。",
        "gate_id_invalid": "请使用 1 到 64 个字母、数字、_ . 或 -，并以字母或数字开头。",
        "gate_id_taken": "已有其他门使用此 ID。",
        "stream_url_invalid": "请使用带主机名的 rtsp://、rtsps://、http:// 或 https:// 地址。",
    },
    "abort": {"reconfigure_successful": "门已更新。"},
}
ENTITY = {
    "open": "开门",
    "passage": "通行",
    "event_type": "结果",
    "granted": "准许",
    "denied": "拒绝",
    "method": "方式",
    "reason": "原因",
    "last_passage": "最近通行",
    "last_method": "最近通行方式",
    "people_enrolled": "登记人数",
    "people_unit": "人",
    "passages_today": "今日通行",
    "passages_unit": "次",
    "online": "在线",
    "emergency": "紧急全开",
}
ISSUES = {
    "database_corrupt": (
        "小区数据库已损坏",
        "位于 {path} 的小区数据库无法读取。Community Gate 未改动该文件，并已停止设置此小区，不会自动重试。请从备份恢复该文件，或将其移走以启用新的空数据库；然后重新加载该小区（设置 → 设备与服务 → Community Gate → ⋮ → 重新加载）或重启 Home Assistant。",
    ),
    "database_too_new": (
        "小区数据库来自更新的版本",
        "位于 {path} 的小区数据库由更新版本的 Community Gate 写入。请升级本集成后再使用。",
    ),
    "key_file_error": (
        "小区密钥文件已损坏",
        "{path} 旁的密钥文件已损坏。已存储的卡号、身份证号和密码只能用原密钥核验：请从备份恢复。",
    ),
}
VARIANTS = {"plain": "普通人脸", "masked": "戴口罩"}

EXCEPTIONS["guardian_consent_required"] = (
    "人员“{person_id}”可能未满 14 周岁：处理其人脸信息需取得父母或其他监护人的同意。请在记录同意时开启“由监护人同意”。"
)
FIELD_DESC.update(
    {
        "birth_year": ("出生年份", "只记录年份。未满 14 周岁的儿童使用人脸识别须经监护人同意。"),
        "since": ("起始时间", "只返回此时间及之后的记录。"),
        "until": ("截止时间", "只返回此时间之前的记录。"),
        "user_id": ("用户 ID", "只返回此 Home Assistant 用户 ID 的操作（自动化为“system”）。"),
        "action": ("操作", "只返回此操作，例如 erase_person。"),
        "subject": ("对象", "只返回针对此人员、凭证、房屋或门的操作。"),
        "before_id": ("早于记录", "向前翻页：只返回比此记录 ID 更早的记录。"),
    }
)
# ----------------------------------------------------------------- alert rules
RULES = {
    "special_attention": "重点关注人员长时间未出现",
    "long_absence": "房屋长期无人出入",
    "tailgating": "尾随进入",
    "frequent_stranger": "陌生人频繁出现",
    "rent_arrears": "欠租",
    "unknown_face": "陌生人脸",
    "device_offline": "设备离线",
    "door_held_open": "门长时间未关",
    "forced_open": "门被强行打开",
    "fever": "体温异常",
    "brute_force": "疑似暴力尝试凭证",
}
RULE_PARAMS = {
    "special_attention_hours": (
        "重点关注：未出现小时数",
        "重点关注人员（如独居老人）超过此小时数没有通行记录时告警（1 到 8760）。",
    ),
    "long_absence_days": (
        "长期无人：天数",
        "某户所有人员超过此天数没有通行记录时告警，可能空置或转租（1 到 3650）。",
    ),
    "tailgating_seconds": (
        "尾随：紧跟住户的秒数",
        "陌生人脸在同一闸口住户通行后这么多秒内出现，记为尾随（1 到 120）。",
    ),
    "tailgating_count": ("尾随：次数", "同一陌生人尾随达到此次数（1 到 1000）……"),
    "tailgating_days": ("尾随：天数内", "……且在此天数内时告警（1 到 365）。"),
    "frequent_stranger_count": (
        "频繁陌生人：次数",
        "同一未登记人脸或同一访客身份证到访达到此次数（2 到 10000）……",
    ),
    "frequent_stranger_days": ("频繁陌生人：天数内", "……且在此天数内时告警（1 到 365）。"),
    "device_offline_minutes": (
        "设备离线：分钟",
        "摄像头、读卡器或继电器超过此分钟数没有上报时告警（1 到 10080）。",
    ),
    "door_held_open_seconds": ("门未关：秒", "门磁保持打开超过此秒数时告警（5 到 86400）。"),
    "forced_open_grace_seconds": (
        "强行开门：宽限秒数",
        "开门前这么多秒内没有放行记录或出门按钮，视为强行开门（1 到 600）。",
    ),
    "fever_celsius": ("体温异常：阈值 °C", "终端测得体温达到或超过此值时告警（35 到 42）。"),
    "brute_force_count": (
        "暴力尝试：失败次数",
        "同一门口未知、格式错误或锁定期间被拒的凭证达到此次数（5 到 10000）……",
    ),
    "brute_force_seconds": ("暴力尝试：秒数内", "……且发生在此秒数内时告警（10 到 3600）。"),
    "repeat_hours": (
        "重复间隔小时数",
        "同一规则、同一对象在此小时数内最多告警一次；告警未关闭时不再重复（1 到 8760）。",
    ),
}
RULES_SECTION = {
    "name": "告警规则",
    "description": "各规则何时告警。默认值来自物业人员的需求。",
    "error": "{field} 必须在 {min} 到 {max} 之间。",
}
ALERT_ENTITY = {
    "alerts": "告警",
    "rule": "规则",
    "alert_id": "告警编号",
    "subject_kind": "对象类型",
    "subject_id": "对象",
    "open_alerts": "未关闭告警",
    "alerts_unit": "条",
}
SUBJECT_KINDS = {
    "person": "人员",
    "unit": "房屋",
    "cluster": "陌生人",
    "gate": "闸口",
    "device": "设备",
}
GATE_DATA["door_contact"] = "门磁"
GATE_DESC["door_contact"] = "可选：门打开时为开启状态的二元传感器，用于门未关和强行开门告警。"
EXCEPTIONS.update(
    {
        "unknown_alert": "没有编号为 {alert_id} 的告警。",
        "alert_already_resolved": "告警 {alert_id} 已经关闭。",
        "invalid_rule_parameter": "{field} 必须在 {min} 到 {max} 之间。",
        "invalid_reading": "{field} 无效：读数必须在 {min} 到 {max} 之间。",
        "estate_closed": "小区正在关闭或已卸载；请在它重新运行后再试。",
    }
)
FIELD_DESC.update(
    {
        "alert_id": ("告警编号", "告警的编号，见 community_gate_alert 事件。"),
        "include_resolved": ("包括已关闭", "同时列出已关闭的告警。"),
        "rule": ("规则", "只列出此规则的告警。"),
        "limit": ("数量上限", "最多列出这么多条，最新的在前。"),
        "celsius": ("体温", "测得的体温（°C）。"),
    }
)
SERVICES.update(
    {
        "erase_person": (
            "删除人员",
            "彻底删除一个人员：人脸信息、凭证、照片和同意记录全部删除；其通行记录以随机化名保留。不可撤销。",
            ["person_id"],
        ),
        "export_person_data": (
            "导出个人数据",
            "返回小区持有的某人全部信息（查阅、复制请求）：基本信息、同意记录、凭证（仅密钥哈希）、人脸模板和照片（清单）、通行记录和审计记录。",
            ["person_id"],
        ),
        "query_audit_log": (
            "查询审计日志",
            "返回管理操作日志：谁、做了什么、对谁、何时、结果如何。",
            ["since", "until", "user_id", "action", "subject", "limit", "before_id"],
        ),
        "rotate_key": (
            "轮换加密密钥",
            "一次性用新密钥重新加密全部人脸模板、陌生人聚类和保留的照片。卡号和身份证号的哈希使用各自独立的密钥。",
            [],
        ),
        "acknowledge_alert": (
            "确认告警",
            "标记物业人员已看到告警。告警在关闭前仍为未关闭状态。",
            ["alert_id"],
        ),
        "resolve_alert": ("关闭告警", "关闭一条告警。", ["alert_id"]),
        "list_alerts": (
            "列出告警",
            "返回未关闭（或全部）告警，最新的在前，含编号和证据。",
            ["include_resolved", "rule", "limit"],
        ),
        "report_temperature": (
            "上报体温",
            "终端在闸口测得体温。超过阈值时产生体温异常告警。",
            ["gate_id", "celsius", "person_id"],
        ),
    }
)
OPTIONS_DATA = {
    "cluster_retention_days": "陌生人脸聚类保存期限",
    "photo_retention_days": "照片保存期限",
    "keep_photos": "保留录入照片",
}
OPTIONS_DESC = {
    "cluster_retention_days": "未登记的人脸超过此期限未出现即被遗忘。",
    "photo_retention_days": "保留的照片在拍摄后超过此期限即被删除。",
    "keep_photos": "关闭：照片仅用于录入，随即丢弃。开启：加密保存，到期删除。",
}
METHOD_OPTIONS = {k: METHODS[k] for k in ("face", "card", "id_card", "qr", "pin", "fingerprint")}
FACE_ENGINES = {
    "ncnn_sface_2021dec": "ncnn：YuNet + SFace（推荐）",
    "dlib_resnet_v1": "dlib：兼容 face_recognition",
}
FACE_STRICTNESS = {
    "relaxed": "宽松：目标为百分之一的陌生人",
    "standard": "标准：目标为千分之一的陌生人",
    "strict": "严格：目标为万分之一的陌生人",
}
ISSUES["face_reenroll"] = (
    "{count} 人需要重新采集人脸照片",
    "社区现在使用人脸引擎 {engine}。有 {count} 人是用其他引擎登记的，且没有留存照片可用于重新编码：在工作人员为他们采集新照片之前（社区门禁面板 → 人员），他们的人脸无法开门。门卡、密码和二维码通行证照常可用。",
)
ISSUES["face_only_gate"] = (
    "{name} 只能刷脸通行",
    "门 {gate_id} 只接受人脸。不同意人脸识别的居民、儿童、访客以及摄像头未能识别的人都必须能够进门：请在该门的“接受的通行方式”中加入门禁卡、二维码或密码（重新配置门）。",
)
GATE_DATA["openers"] = "远程开门人员"
GATE_DESC["openers"] = (
    "除管理员外，可远程打开此门（其“开门”按钮和 open_gate 动作）的 Home Assistant 用户。紧急全开仅限管理员。每次远程开门均记入审计日志。"
)
EXCEPTIONS["opened_not_logged"] = (
    "门 {gate_id} 已打开（出口在日志无法写入时仍会打开），但本次通行未能写入日志。请手工记录并检查数据库。"
)

# ---------------------------------------------------------- 管理面板自身的文字（issue 17）
# 写入 custom_components/community_gate/frontend/strings/zh-Hans.json。中文没有复数变化：
# 复数条目只有 Intl.PluralRules 的 "other" 一类。
PANEL = {
    "title": "小区门禁",
    "people": "人员",
    "enroll": "人脸登记",
    "passages": "通行记录",
    "gates": "门",
    "strangers": "陌生人",
    "alerts": "告警",
    "search": "搜索 ID、姓名、房号…",
    "generated_once": "已生成，仅此一次显示",
    "desk_reader": "桌面读卡器：刷卡或输入",
    "present": "出示",
    "value_or_generate": "号码（留空则生成密码或二维码）",
    "all_roles": "全部身份",
    "all_flags": "全部标记",
    "add_person": "添加人员",
    "person_id": "人员 ID",
    "name": "姓名",
    "role": "身份",
    "unit": "房号",
    "flags": "标记",
    "none": "—",
    "prev": "上一页",
    "next": "下一页",
    "older": "更早",
    "save": "保存",
    "cancel": "取消",
    "remove": "删除",
    "close": "关闭",
    "credentials": "凭证",
    "kind": "类型",
    "value": "卡号 / 编码",
    "add_credential": "添加凭证",
    "revoke": "注销",
    "revoked": "已注销",
    "valid": "有效期",
    "uses": "次数",
    "consent": "同意",
    "consents": "同意记录",
    "face_refs": "人脸参考",
    "last_seen": "最近通行",
    "visitor_pass": "访客通行证",
    "hours": "小时",
    "max_uses": "最多次数",
    "issue_pass": "签发",
    "print": "打印",
    "pass_for": "访客通行证",
    "token": "令牌",
    "until": "有效至",
    "notice_version": "告知书版本",
    "guardian": "由监护人同意（未满 14 岁）",
    "agreed": "本人已阅读告知书并同意使用人脸识别",
    "record_consent": "记录同意",
    "consent_ok": "已记录同意。",
    "withdraw": "撤回同意（删除人脸数据）",
    "photo": "照片",
    "upload": "选择或拍摄照片",
    "camera": "使用本设备摄像头",
    "capture": "拍照",
    "variant": "参考类型",
    "plain": "正脸",
    "masked": "佩戴口罩",
    "enroll_btn": "登记",
    "enrolled": "已登记：人脸高 {px} 像素。",
    "check": "检查照片",
    "quality_ok": "照片合格：人脸高 {px} 像素。",
    "gate": "门",
    "time": "时间",
    "method": "方式",
    "result": "结果",
    "reason": "原因",
    "person": "人员",
    "granted": "通过",
    "denied": "拒绝",
    "any": "全部",
    "from": "从",
    "to": "到",
    "filter": "筛选",
    "live": "实时",
    "online": "在线",
    "offline": "离线",
    "camera_ok": "摄像头",
    "open": "开门",
    "open_reason": "开门原因",
    "emergency": "紧急：打开所有门",
    "emergency_on": "紧急状态：所有门已打开",
    "emergency_off": "结束紧急状态",
    "lockdown": "封控：仅物业人员可通行",
    "lockdown_on": "封控中：所有门仅允许物业人员通行",
    "lockdown_off": "解除封控",
    "confirm_lockdown": "确定封控小区？解除之前，所有门只允许物业人员通行。",
    "ignore": "忽略（已知人员）",
    "ignore_note": "此人是谁？（备注）",
    "days": "天数",
    "unignore": "取消忽略",
    "ignored": "已忽略，至 {until}：{note}",
    "faces_ready": {"other": "人脸识别已就绪（{count} 个参考）"},
    "faces_off": "人脸识别未运行：{why}",
    "episode": "×{count}，至 {last}",
    "episode_title": {"other": "被拒绝 {count} 次：首次 {first}，最后 {last}"},
    "sightings": "出现次数",
    "days_seen": "天数",
    "first_seen": "首次出现",
    "show_passages": "通行记录",
    "assign": "归属到人员",
    "assigned": {"other": "已归属到 {name}：{count} 条通行记录已更新。"},
    "no_estate": "尚未设置小区。请在 设置 → 设备与服务 中添加 Community Gate。",
    "loading": "加载中…",
    "nothing": "暂无内容。",
    "confirm_remove": "删除 {id}？其通行记录仍保留在日志中。",
    "confirm_withdraw": "撤回 {id} 的人脸识别同意？其人脸数据将立即删除。",
    "rule": "规则",
    "subject": "对象",
    "state": "状态",
    "acknowledge": "确认",
    "resolve": "解决",
    "st_new": "新",
    "st_acknowledged": "已确认",
    "st_resolved": "已解决",
    "open_alerts": {"other": "{count} 条未解决告警"},
    "show_resolved": "显示已解决",
    "units": "房屋",
    "add_unit": "添加房屋",
    "number": "门牌号",
    "lease_until": "租约到期",
    "rent_arrears": "欠租",
    "valid_from": "生效时间",
    "valid_until": "失效时间",
    "opened": "已开门。",
    "saved": "已保存。",
    "camera_unavailable": "此处无法使用摄像头（需要 HTTPS 或 localhost）；请使用照片按钮。",
    "special_attention": "重点关注",
    "lives_alone": "独居",
    "blocked": "禁止通行",
    "card": "门禁卡",
    "id_card": "身份证",
    "pin": "密码",
    "qr": "二维码",
    "fingerprint": "指纹",
    "face": "人脸",
    "remote": "远程",
    "emergency_m": "紧急",
    "building": "楼栋",
    "tenant": "承租人",
    "co_resident": "同住人",
    "visitor": "访客",
    "service": "服务人员",
    "staff": "物业人员",
    # 人员的通行权限：允许通行的门与每周时段（issue 17 第 6 项）
    "access": "通行权限",
    "allowed_gates": "允许通行的门",
    "allowed_gates_hint": "不勾选：按身份默认的门（住户和访客：所有小区大门及本楼栋的单元门；物业和服务人员：所有门）。",
    "schedule": "每周通行时段",
    "schedule_hint": "没有时段：任何时间均可通行。时间为小区当地时间；结束早于开始的时段跨越午夜（如 22:00–06:00），24:00 表示当天结束。",
    "add_window": "添加时段",
    "remove_window": "删除时段",
    "start": "开始",
    "end": "结束",
    "save_access": "保存通行权限",
    "access_saved": "通行权限已保存。",
    "any_time": "任何时间",
    "role_gates": "按身份默认的门",
    "windows": {"other": "{count} 个时段"},
    "weekdays": {
        "1": "周一",
        "2": "周二",
        "3": "周三",
        "4": "周四",
        "5": "周五",
        "6": "周六",
        "7": "周日",
    },
    # 陌生人视图与通行记录中的姓名（issue 17 第 1 项）
    "person_or_name": "人员 ID 或姓名",
    "search_name": "姓名包含…",
    "last_gate": "最近出现于",
    "marked_by": "标记人：{user}",
    "why": {
        "no_face": "未检测到人脸。请正对摄像头，光线充足。",
        "several_faces": "照片中有多张人脸。请只让登记本人入镜。",
        "face_too_small": "人脸太小。请靠近摄像头。",
        "too_blurred": "照片模糊。请保持不动并对焦。",
        "too_dark": "光线太暗。请面向光源。",
        "too_bright": "光线太亮。请避免阳光直射或闪光灯。",
        "not_an_image": "该文件不是照片。",
        "corrupt": "照片文件已损坏。",
        "too_large_bytes": "照片文件太大。",
        "too_many_pixels": "照片尺寸太大。",
        "empty": "照片为空。",
    },
    "err": {
        "face_unavailable": "人脸识别尚未运行，请稍后再试；门禁卡、密码和二维码通行不受影响。",
        "consent_required": "请先记录本人同意。",
        "face_duplicate": "该人脸已属于 {other_person_id}。",
        "unknown_person": "没有此人员，请检查人员 ID。",
        "too_large": "照片文件太大（最大 20 MB）。",
        "unsupported_media_type": "请上传 JPEG、PNG 或 WebP 照片。",
        "unauthorized": "只有管理员可以执行此操作。",
        "person_id_required": "请先输入人员 ID。",
        "window_no_days": "第 {n} 个时段：请至少勾选一天。",
        "window_time": "第 {n} 个时段：开始和结束须为 07:30 这样的时间（24:00 表示当天结束）。",
        "window_same": "第 {n} 个时段：开始和结束不能是同一时间。",
        "invalid_format": "此处填写的值无效。",
        "several_match": "有多人与“{text}”匹配：请输入更完整的姓名或人员 ID。",
        "no_match": "没有与“{text}”匹配的人员。",
    },
}


# ------------------------------------------- 封控与忽略陌生人（issue 17）
REASONS["lockdown"] = "封控中：仅物业人员可通行"
ENTITY["lockdown"] = "封控"
FIELD_DESC.update(
    {
        "set_lockdown.active": ("启用", "开启或关闭封控。"),
        "note": (
            "备注",
            "此人是谁、为何无需告警，供物业人员查看（例如：快递员，工作日上午 10 点左右来）。仅在管理面板中显示。",
        ),
        "days": ("天数", "标记的有效天数（1 至 366 天），到期后恢复告警。"),
    }
)
SERVICES.update(
    {
        "set_lockdown": (
            "设置封控",
            "封控：所有门拒绝除物业人员以外的全部凭证，直至关闭。紧急全开仍会打开所有门。操作记入审计日志。",
            ["active"],
        ),
        "ignore_stranger": (
            "忽略陌生人",
            "将某位陌生人标记为已知人员（例如不会登记的快递员）：标记有效期内不再为其发出“陌生人脸”和“陌生人频繁出现”告警，其未解决的告警一并解决。门仍然拒绝此人脸。操作记入审计日志。",
            ["cluster_id", "note", "days"],
        ),
        "unignore_stranger": (
            "取消忽略陌生人",
            "取消对某位陌生人的忽略标记，恢复对其告警。",
            ["cluster_id"],
        ),
    }
)

# ------------------------------------------------ stranger snapshots (issue 17, item 3)
OPTIONS_DATA["keep_stranger_snapshots"] = "保留陌生人快照"
OPTIONS_DATA["stranger_snapshot_days"] = "陌生人快照保存期限"
OPTIONS_DESC["keep_stranger_snapshots"] = (
    "关闭（默认）：陌生人的脸除用于再次识别的加密数值外不保留任何内容。开启：为每位未识别的人加密保留一张最清晰的小幅人脸截图，仅管理员可在面板“陌生人”页查看，随该陌生人一并删除或到期删除。请在门口的告知中写明。"
)
OPTIONS_DESC["stranger_snapshot_days"] = (
    "每张快照在拍摄后超过此期限即被删除（1 到 30 天），陌生人被删除时一并删除。"
)
OPTIONS_ERRORS = {"stranger_snapshot_days_out_of_range": "请选择 1 到 30 天。"}
EXCEPTIONS["unknown_stranger_snapshot"] = (
    "没有保留陌生人“{cluster_id}”的快照（该选项已关闭、快照已过期，或摄像头尚未拍到清晰的脸）。"
)
PANEL.update(
    {
        "snapshot": "快照",
        "snapshot_alt": "该陌生人的脸",
        "snapshot_taken": "拍摄于 {time}",
        "no_snapshot": "暂无快照",
        "snapshots_note": "快照加密保存，仅管理员可见，随陌生人一并删除或到期删除。",
    }
)

# ---------------------------------- the panel's face engine and look-alike bits (issue 14)
PANEL.update(
    {
        "face_reenroll": "需要重新录入人脸照片（人脸引擎已更换）",
        "face_engine": "引擎：{engine}",
        "engines": {
            "ncnn_sface_2021dec": "ncnn 引擎（YuNet + SFace）",
            "dlib_resnet_v1": "dlib 引擎（face_recognition）",
        },
        "reenroll_count": {"other": "{count} 人需要重新录入人脸照片"},
        "duplicate_of": "这张脸与{name}的非常接近（距离 {distance}）。请检查照片：一张脸只属于一个人。",
        "different_people": "他们是不同的人（兄弟姐妹、双胞胎）",
        "look_alike_checked": "您已确认他们是不同的人；登记时将记入审计日志。",
        "look_alike_audited": "已在审计日志中记录他们是不同的人。",
    }
)

# ------------------------------------------------ 中心库（issue 16）
_CENTRAL_REASONS = {
    "central_cannot_connect": "该地址上的中心库没有应答。请检查主机、端口和防火墙。",
    "central_invalid_auth": "中心库拒绝了用户名或密码。",
    "central_tls": "加密连接失败：请检查 TLS 模式和 CA 文件。",
    "central_permission": "该角色没有所需的权限：小区的角色只写本小区的数据，指挥中心的角色只读（见 docs/central.zh-Hans.md）。",
    "central_schema_newer": "中心库由更新版本的 Community Gate 建立。请更新集成。",
    "central_schema_missing": "中心库中还没有 Community Gate 的表：请先让一个小区连接到它。",
    "central_invalid_dsn": "请使用 postgresql://用户@主机:5432/数据库 这样的地址。",
    "central_ca_file": "中枢上没有这个 CA 文件。",
    "central_estate_code": "请填写本小区在中心的代码：1 到 32 个小写字母、数字或 -，不以 - 开头。",
    "central_estate_code_taken": "中心已有另一台中枢以此小区代码同步。请为本小区另设代码；若本中枢取代旧中枢，请先由中心管理员释放该代码（见 docs/central.zh-Hans.md）。",
    "central_repair_minutes": "请选择 1 到 10080 分钟。",
}
_LINK_DATA = {
    "dsn": "中心库地址（DSN）",
    "password": "密码",
    "tls": "TLS 加密",
    "ca_file": "CA 文件",
}
_LINK_DESC = {
    "dsn": "postgresql://用户@主机:5432/数据库。在此输入的密码会移到密码栏，之后不再显示。",
    "password": "留空则保留已存的密码。密码从不显示、不写入日志、不进入诊断信息。",
    "tls": "连接如何加密。在不属于您的网络上请使用 verify-full。",
    "ca_file": "中枢上签发服务器证书的证书颁发机构文件路径（verify-full）。留空：使用系统自带的。",
}
# The estate code and the repair threshold are asked in the estate's options only.
_OPTIONS_ONLY = ("central_estate_code", "central_repair_minutes")
_CENTRE_DATA = {**_LINK_DATA, "purge": "每晚执行保存期限清理"}
_CENTRE_DESC = {
    **_LINK_DESC,
    "purge": "每晚删除中心里超过各小区保存期限的数据，并删除没有小区再保存的月份。此时该角色需要对中心的表有 DELETE 权限并拥有这些表（见 docs/central.zh-Hans.md）；关闭时角色可保持只读，清理在别处执行。",
}
CENTRAL = {
    "config": {
        "step": {
            "user": {
                "title": "这个中枢是做什么的？",
                "description": "小区中枢管理自己的门禁和人员。指挥中心从中心库读取每个小区的通行记录和告警。",
                "menu_options": {
                    "estate": "小区（本中枢管理门禁）",
                    "centre": "指挥中心（读取所有小区）",
                },
            },
            "centre": {
                "title": "指挥中心",
                "description": "使用只读角色连接中心库。复制到这里的每个小区都会显示其数据和告警。",
                "data": _CENTRE_DATA,
                "data_description": _CENTRE_DESC,
            },
            "reconfigure_centre": {
                "title": "修改指挥中心",
                "description": "让指挥中心连接另一个地址，或换一个新密码。",
                "data": _CENTRE_DATA,
                "data_description": _CENTRE_DESC,
            },
            "reauth_confirm": {
                "title": "中心库新密码",
                "description": "位于 {host} 的中心库（数据库 {database}）拒绝了 {name} 保存的密码，可能已在服务器上修改。请输入新密码；保存前会先测试。连接的其他设置不变。",
                "data": {"password": "密码"},
                "data_description": {
                    "password": "该角色的新密码。不会显示、记录到日志或写入诊断信息。",
                },
            },
        },
        "error": {
            **{k: v for k, v in _CENTRAL_REASONS.items() if k not in _OPTIONS_ONLY},
            "invalid_choice": "请从列出的值中选择。",
        },
        "abort": {
            "centre_already_configured": "已有指挥中心在读取这个中心库。",
            "reauth_successful": "新密码可用，已保存。",
        },
    },
    "options": {
        "step": {
            "init": {
                "sections": {
                    "central": {
                        "name": "中心库",
                        "description": "把本小区的通行记录、告警、名册数据和设备状态复制到运营方的中心 PostgreSQL。线路中断时小区照常工作，恢复后自动补传。人脸数据和凭证从不离开中枢。",
                        "data": {
                            "enabled": "复制到中心库",
                            **_LINK_DATA,
                            "estate_code": "小区代码",
                            "share_names": "共享人员姓名",
                            "repair_minutes": "链路中断多久后提醒",
                            "card_secret": "运营方证件密钥",
                        },
                        "data_description": {
                            "enabled": "关闭：任何数据都不离开中枢。开启时会先测试连接。",
                            **_LINK_DESC,
                            "estate_code": "本小区在中心的代码，例如 maple-court。其角色只能写本小区的数据。",
                            "share_names": "关闭（推荐）：中心只看到编号、房屋、角色和标记。开启：人员的显示名也会传出；请在告住户书中说明，且中心须像本中枢一样保护这些数据。",
                            "repair_minutes": "超过这么久未能连上中心时，生成一条修复提示。",
                            "card_secret": "可选，运营方每个小区填同一个：此后登记的访客身份证会得到一个中心可跨小区比对的令牌（同一张访客证出现在多个小区）。号码从不离开中枢。从不显示；留空则保留已存的。",
                        },
                    }
                }
            }
        },
        "error": {k: v for k, v in _CENTRAL_REASONS.items() if k != "central_schema_missing"},
    },
    "selector": {
        "tls": {
            "options": {
                "disable": "关闭（仅限可信的本地网络）",
                "prefer": "优先 TLS（不验证）",
                "require": "必须 TLS（不验证）",
                "verify-full": "必须 TLS 并验证服务器",
            }
        }
    },
    "entity": {
        "sensor": {
            "central_backlog": {"name": "中心库待传", "unit_of_measurement": "行"},
            "central_lag": {"name": "中心库延迟"},
            "centre_passages_today": {"name": "今日通行", "unit_of_measurement": "次"},
            "centre_open_alerts": {"name": "未关闭告警", "unit_of_measurement": "条"},
            "centre_offline_devices": {"name": "离线设备", "unit_of_measurement": "台"},
            "centre_backlog": {"name": "中枢待传", "unit_of_measurement": "行"},
            "centre_lag": {"name": "中枢延迟"},
            "centre_repeat_cards": {"name": "多个小区出现的访客证", "unit_of_measurement": "张"},
        },
        "event": {
            "centre_alerts": {
                "name": "小区告警",
                "state_attributes": {
                    "event_type": {"name": "规则", "state": None},
                    "estate": {"name": "小区"},
                    "estates": {"name": "小区列表"},
                    "alert_id": {"name": "告警编号"},
                    "subject_kind": {"name": "对象类型"},
                    "subject_id": {"name": "对象"},
                    "state": {"name": "状态"},
                },
            }
        },
    },
    "issues": {
        "central_estate_code_taken": {
            "title": "{estate}：小区代码 {code} 属于另一台中枢",
            "description": "中心库记录另一台中枢为小区代码 {code} 的所有者，因此 {estate} 不向中心发送任何数据（数据在中枢上等待）。请在本小区的选项中另设代码；若本中枢取代旧中枢，请由中心管理员释放该代码（见 docs/central.zh-Hans.md），之后同步会自动恢复。",
        },
        "central_down": {
            "title": "{estate} 无法连接中心库",
            "description": "小区 {estate} 已超过 {minutes} 分钟未能连接中心库；{backlog} 行数据在中枢上等待，链路恢复后按顺序补传。门禁照常工作。请检查网络和 PostgreSQL 服务器，再查看小区的诊断信息（最近错误）。",
        },
    },
    "exceptions": {
        "centre_unreachable": {"message": "指挥中心无法读取中心库（{reason}）。"},
        "centre_auth_failed": {"message": "中心库拒绝了指挥中心的密码：请输入新密码。"},
    },
}
PANEL.update(
    {
        "centre": "指挥中心",
        "centre_view": "所有小区",
        "passages_today": "今日通行",
        "estate": "小区",
        "open_alerts_col": "未关闭告警",
        "offline_devices": "离线设备",
        "backlog": "待传",
        "lag": "延迟",
        "centre_alerts": "各小区告警",
        "centre_stale": "上次轮询时中心库没有应答：这些数据可能已过时。",
        "centre_passages": "中心记录的 {estate} 通行",
        "seconds": "{count} 秒",
        "no_estates_yet": "还没有小区复制到中心库。",
        "repeat_cards": "出现在多个小区的访客身份证（7 天内）",
        "card_token": "证件（令牌）",
        "estates_col": "小区",
    }
)

# ------------------------------------------ presentation attacks, card + face (issue 15)
REASONS["presentation_attack"] = "照片、屏幕或录像攻击被拒"
REASONS["second_factor_required"] = "需要第二种凭证"
RULES["spoof_attempt"] = "假体攻击"
RULE_PARAMS["spoof_attempt_count"] = (
    "假体攻击：次数",
    "同一人员或陌生人在同一出入口被识别为照片、屏幕或录像达到此次数（1 至 1000）……",
)
RULE_PARAMS["spoof_attempt_minutes"] = (
    "假体攻击：分钟内",
    "……且在此分钟数内（1 至 1440）时告警。",
)
RULES["card_face_mismatch"] = "人卡不符"
RULE_PARAMS["card_face_mismatch_count"] = (
    "人卡不符：次数",
    "在人脸加卡出入口，同一人员的卡、密码或其他凭证之后出现的活体人脸不是本人，达到此次数（1 至 1000）……",
)
RULE_PARAMS["card_face_mismatch_minutes"] = (
    "人卡不符：分钟内",
    "……且在此分钟数内（1 至 1440）时告警。",
)
GATE_DATA["pad_level"] = "防照片与屏幕攻击"
GATE_DATA["face_mode"] = "仅人脸或人脸加卡"
GATE_DESC["pad_level"] = (
    "关闭：人脸匹配即开门（仅用于自带防伪的终端）。活体（默认）：人脸须在摄像头连续画面中呈现活人的自然动作，静止的照片或屏幕会被拒绝。活体 + 提示：终端还会随机要求转头或眨眼。高质量录像回放或面具仍可能通过：重要出入口请同时要求刷卡。"
)
GATE_DESC["face_mode"] = (
    "仅人脸；或人脸加卡：同一人在 30 秒内先后出示人脸和门禁卡、身份证、二维码、密码或指纹（顺序不限）。"
)
GATE["errors"]["pad_level_invalid"] = "请选择列表中的级别。"
GATE["errors"]["face_mode_invalid"] = "请选择列表中的方式。"
GATE["errors"]["face_mode_needs_methods"] = "人脸加卡需要同时接受人脸和至少一种其他通行方式。"
PAD_LEVELS = {
    "off": "关闭",
    "stream": "活体",
    "challenge": "活体 + 提示",
}
FACE_MODES = {
    "face_alone": "仅人脸",
    "card_and_face": "人脸加卡",
}
ISSUES["mqtt_missing"] = (
    "门在等待 MQTT",
    "以下门通过 MQTT 控制器开门：{gates}。Home Assistant 的 MQTT 集成尚未设置，因此这些门打不开，其读卡器的消息也收不到。请添加 MQTT 集成并填写代理地址（设置 → 设备与服务 → 添加集成 → MQTT）：MQTT 设置好后小区会自动重新加载（若没有，请手动重新加载小区）；或者为这些门改配锁、开关或卷帘实体（重新配置门）。",
)
# The centre's alert entity: every rule that is not staff-only, once RULES is complete
# (rules added further up the file, e.g. spoof_attempt, are included).
CENTRAL["entity"]["event"]["centre_alerts"]["state_attributes"]["event_type"]["state"] = {
    **{
        k: v
        for k, v in RULES.items()
        if k not in ("special_attention", "long_absence", "rent_arrears", "fever")
    },
    "repeat_visitor_card": "同一访客证出现在多个小区",
}
