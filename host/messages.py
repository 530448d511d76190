"""The message catalogue: message id -> (English, Chinese), rendered by ``host.i18n.text``.

Each text is a ``str.format`` template; both languages fill the same named fields (a test
checks it). Ids are grouped by where they are shown: ``cmd.*`` the one-line summary of a
command in ``sealcam --help`` (the English is the summary the command declares), ``usage.*``
the one-line refusals of unusable arguments (exit 2), ``verdict.*`` the words of a
verification verdict, ``report.*`` the labels of a verification report, ``record.*`` the
recorder's summary, ``term.*`` the officer's terminal. The Chinese is in the plain register
of public-security software: short, exact, no figures of speech.
"""

MESSAGES: "dict[str, tuple[str, str]]" = {
    # sealcam itself
    "main.description": (
        "Signed, tamper-evident evidence for enforcement recorders. Every frame chunk and "
        "event a recorder writes is an entry in one hash-chained ledger signed with the "
        "device's Ed25519 key; these commands check and manage that evidence.",
        "执法记录仪防篡改签名证据系统。记录仪写入的每个视频分段和每个事件，都是一条用设备 "
        "Ed25519 密钥签名、以哈希链相连的签名日志记录；以下命令用于校验和管理这些证据。",
    ),
    "main.epilog": (
        "Exit codes: 0 success or OK, 1 verification NOT OK, 2 unusable input. "
        "Run 'sealcam COMMAND --help' for each command.",
        "退出码：0 成功或校验通过，1 校验不通过，2 输入无法使用。"
        "各命令的用法请运行 'sealcam 命令 --help'。",
    ),
    "main.lang": (
        "language of the messages: en (English) or zh (Chinese); default from the locale "
        "(LC_ALL, LC_MESSAGES, LANG: zh_* is Chinese). JSON output is never translated",
        "提示信息的语言：en（英文）或 zh（中文）；默认依据系统区域设置"
        "（LC_ALL、LC_MESSAGES、LANG，zh_* 为中文）。JSON 输出不翻译",
    ),
    "main.failed": ("sealcam {command}: {problem}", "sealcam {command}：{problem}"),
    "main.plugin_broken": (
        "sealcam: the command plugin {name} ({value}) could not be loaded: {error}",
        "sealcam：命令插件 {name}（{value}）无法加载：{error}",
    ),
    # argparse's own words (host.cli.argwords): the English is argparse's, word for word
    "argparse.usage": ("usage: ", "用法："),
    "argparse.positional": ("\npositional arguments:\n", "\n位置参数：\n"),
    "argparse.options": ("\noptions:\n", "\n选项：\n"),
    "argparse.help": ("show this help message and exit", "显示本帮助并退出"),
    "argparse.error": ("{prog}: error: {problem}", "{prog}：错误：{problem}"),
    "argparse.argument": ("argument {name}: {problem}", "参数 {name}：{problem}"),
    "argparse.required": (
        "the following arguments are required: {names}",
        "缺少必需的参数：{names}",
    ),
    "argparse.one_required": (
        "one of the arguments {names} is required",
        "以下参数必须给出一个：{names}",
    ),
    "argparse.unrecognized": ("unrecognized arguments: {args}", "无法识别的参数：{args}"),
    "argparse.choice": (
        "invalid choice: {value} (choose from {choices})",
        "无效的选项：{value}（可选：{choices}）",
    ),
    "argparse.one_value": ("expected one argument", "此参数需要一个值"),
    "argparse.not_with": ("not allowed with argument {other}", "不能与参数 {other} 同时使用"),
    "argparse.invalid_value": ("invalid {type} value: {value}", "无效的 {type} 值：{value}"),
    # one line per command in `sealcam --help`
    "cmd.verify": ("check a ledger against a device's public key", "用设备公钥校验签名日志"),
    "cmd.ledger": (
        "export a device store's ledger as one file",
        "将设备存储的签名日志导出为单个文件",
    ),
    "cmd.ledger export": (
        "write the store's ledger entries to one file",
        "把存储中的签名日志条目写入一个文件",
    ),
    "cmd.checkpoint": (
        "export the evidence store's newest signed checkpoint for a witness",
        "导出证据库最新的签名检查点，交见证方保存",
    ),
    "cmd.checkpoint export": (
        "write the newest signed checkpoint (a signed note)",
        "写出最新的签名检查点（一份签名文件）",
    ),
    "cmd.keygen": (
        "make a device key pair (simulated devices, tests), or the agency's keys",
        "生成设备密钥对（用于模拟设备和测试），或生成单位密钥",
    ),
    "cmd.record": (
        "run the recorder agent on this machine (Linux terminal port)",
        "在本机运行记录仪程序（Linux 终端版）",
    ),
    "cmd.enrol": ("enrol device public keys in an evidence store", "将设备公钥登记到证据库"),
    "cmd.sync": (
        "collect footage from devices over TCP and serial",
        "通过 TCP 或串口从设备采集录像",
    ),
    "cmd.dock": (
        "sync a device store to a host (the device's side)",
        "将设备存储同步到采集站（设备端）",
    ),
    "cmd.demo": (
        "the main job end to end: a virtual shift, docked, verified, exported, tampered",
        "完整流程演示：模拟一个班次，采集、校验、导出，并演示篡改被发现",
    ),
    "cmd.export": (
        "export a recording as a video file with its extraction note",
        "将一段录像导出为视频文件，并附提取说明",
    ),
    "cmd.flash": (
        "flash the agent onto a MicroPython board and provision it",
        "将记录仪程序烧录到 MicroPython 开发板并完成初始化",
    ),
    "cmd.sim": (
        "virtual recorders: run a scenario, serve a virtual MicroPython board",
        "模拟记录仪：运行测试场景，提供虚拟 MicroPython 开发板",
    ),
    "cmd.sim run": (
        "run a scenario file and check the host's verdict",
        "运行场景文件并核对采集站的校验结论",
    ),
    "cmd.sim board": (
        "run a virtual MicroPython board on a pseudo-terminal",
        "在伪终端上运行虚拟 MicroPython 开发板",
    ),
    # host/cli/common.py: arguments that cannot be used (exit 2)
    "usage.id_too_long": (
        "{what} is {length} characters long; the protocol allows ids of 1..{limit} "
        "characters: choose a shorter one",
        "{what}长 {length} 个字符；协议允许的编号长度为 1 至 {limit} 个字符，请改用更短的编号",
    ),
    "usage.what_device_id": ("the device id", "设备编号"),
    "usage.what_host_id": ("the host id", "采集站编号"),
    "usage.public_not_private": (
        "{path} is a public key; the host needs its private key to sign",
        "{path} 是公钥文件；采集站签名需要其私钥文件",
    ),
    "usage.address": (
        "give an address as HOST:PORT (a port up to 65535), not {text!r}",
        "地址格式应为 主机:端口（端口不大于 65535），而不是 {text!r}",
    ),
    "usage.number_at_least": (
        "give a number of at least {minimum:g}, not {text!r}",
        "请给出不小于 {minimum:g} 的数值，而不是 {text!r}",
    ),
    "usage.number_above": (
        "give a number above {minimum:g}, not {text!r}",
        "请给出大于 {minimum:g} 的数值，而不是 {text!r}",
    ),
    # verdict words (protocol.verify, host.mp4verify states)
    "verdict.ok": ("OK", "通过"),
    "verdict.ok_missing": ("OK with missing information", "通过（信息缺失）"),
    "verdict.not_ok": ("NOT OK", "不通过"),
    "verdict.unknown_key": ("unknown key", "密钥未知"),
    "verdict.authentic": ("AUTHENTIC", "真实"),
    "verdict.authentic_notes": ("AUTHENTIC WITH NOTES", "真实（附说明）"),
    "verdict.missing_parts": ("MISSING PARTS", "部分缺失"),
    "verdict.unverifiable": ("UNVERIFIABLE", "无法验证"),
    "verdict.altered": ("ALTERED", "已被篡改"),
    # host/mp4verify.py: the closing line of `sealcam verify FILE.mp4`
    "mp4.verdict.authentic": (
        "✓ {word}: every signed fragment is in the file, unchanged and in order",
        "✓ {word}：所有签名片段都在文件中，未被改动，顺序无误",
    ),
    "mp4.verdict.authentic_notes": (
        "✓ {word}: every signed fragment is in the file, unchanged and in order; the notes "
        "above are not footage and carry no signature",
        "✓ {word}：所有签名片段都在文件中，未被改动，顺序无误；上面的说明不是录像内容，不带签名",
    ),
    "mp4.verdict.missing_parts": (
        "✗ {word}: what is in the file is as signed, but not all of it",
        "✗ {word}：文件中的内容与签名一致，但并不完整",
    ),
    "mp4.verdict.unverifiable": (
        "✗ {word}: no key or certificate given that signed this (see above)",
        "✗ {word}：所给的密钥或证书都不是签署本文件的那一个（见上文）",
    ),
    "mp4.verdict.altered": (
        "✗ {word}: the file is not what the device signed (see the findings above)",
        "✗ {word}：文件已不是设备签名时的样子（见上文的检查结果）",
    ),
    "mp4.verdict.unsigned": (
        "✗ NOT SIGNED: nothing in this file can be checked",
        "✗ 未签名：本文件中没有任何可校验的内容",
    ),
    # host/report_text.py: a ledger's verification report
    "report.ledger": ("Ledger   {source}", "签名日志  {source}"),
    "report.device": ("Device   {device}", "设备      {device}"),
    "report.entries": (
        "Entries  {entries} ({signed} signed)",
        "记录数    {entries}（已签名 {signed}）",
    ),
    "report.seq": (", seq {first} to {last}", "，序号 {first} 至 {last}"),
    "report.time": ("Time     {first} to {last}", "时间      {first} 至 {last}"),
    "report.no_time": ("Time     none", "时间      无"),
    "report.state": ("State    {mark} {state}", "结论      {mark} {state}"),
    "report.findings": ("Findings", "发现的问题"),
    # the officer's terminal (firmware.ports.terminalkeys, firmware.ports.cpython.Terminal)
    "key.title": ("Keys:", "按键说明："),
    "key.record": (
        "  {key}  record (pre-record runs until then)",
        "  {key}  开始录像（此前为预录）",
    ),
    "key.announced": ("  {key}  announcement said", "  {key}  已宣读告知语"),
    "key.narrated": (
        "  {key}  time, place, officers and action narrated",
        "  {key}  已口述时间、地点、执法人员和执法事项",
    ),
    "key.pause": (
        "  {key}  pause, with a reason from the list",
        "  {key}  暂停录像（从列表选择原因）",
    ),
    "key.resume": ("  {key}  resume, then state the reason", "  {key}  恢复录像，并口述中断原因"),
    "key.reason_done": ("  {key}  reason stated", "  {key}  中断原因陈述完毕"),
    "key.mark": ("  {key}  mark this moment important", "  {key}  标记为重点"),
    "key.no_record": (
        "  {key}  work record: a duty that cannot be recorded, with its reason",
        "  {key}  无法录像的工作记录（选择原因）",
    ),
    "key.stop": ("  {key}  stop recording", "  {key}  停止录像"),
    "key.quit": ("  {key}  stop and quit", "  {key}  停止并退出"),
    "key.help": ("  {key}  show these keys", "  {key}  显示按键说明"),
    "key.unknown": (
        "no key {key}: press h for the keys",
        "无此按键 {key}：按 h 查看按键说明",
    ),
    "key.not_now": ("not possible now ({state})", "当前状态（{state}）下不能执行此操作"),
    "menu.pause": ("Why pause? Press the number:", "暂停原因（按数字选择）："),
    "menu.no_record": (
        "Why can it not be recorded? Press the number:",
        "无法录像的原因（按数字选择）：",
    ),
    "menu.note": (
        "Type a short note and press Enter (Esc cancels):",
        "请输入简要说明，按回车确认（按 Esc 取消）：",
    ),
    "menu.cancelled": ("cancelled", "已取消"),
    "reason.item": ("  {key}  {reason}", "  {key}  {reason}"),
    "reason.cancel": ("  any other key cancels", "  按其他键取消"),
    "pause.fault": ("equipment fault", "设备故障"),
    "pause.damage": ("equipment damaged", "设备损坏"),
    "pause.weather": ("weather", "恶劣天气"),
    "pause.battery": ("battery low", "电量不足"),
    "pause.storage": ("storage full", "存储空间不足"),
    "pause.place-change": ("moving to another place", "转换执法场所"),
    "pause.obstruction": ("obstructed", "现场受阻"),
    "pause.other": ("other objective reason", "其他客观原因"),
    "no_record.explosive-area": ("explosive area", "易燃易爆场所"),
    "no_record.secrecy": ("secrecy", "涉及秘密"),
    "no_record.privacy": ("privacy", "涉及个人隐私"),
    "no_record.emergency": ("emergency", "紧急情况"),
    "no_record.objective-cause": ("other objective cause", "其他客观原因"),
    "state.SELF_CHECK": ("self-check", "自检中"),
    "state.IDLE": ("ready", "待机"),
    "state.PRE_RECORD": ("pre-record", "预录中"),
    "state.RECORDING": ("RECORDING", "录像中"),
    "state.RESUMING": ("RECORDING, stating the reason", "录像中（陈述中断原因）"),
    "state.PAUSED": ("PAUSED", "已暂停"),
    "state.REFUSING": ("CANNOT RECORD", "无法录像"),
    "status.line": (
        "[{state}] {time}  battery {battery}  storage {hours} h  chunks {chunks}",
        "[{state}] {time}  电量 {battery}  可录 {hours} 小时  分段 {chunks}",
    ),
    "buzzer.power-on": ("recorder on", "记录仪已开机"),
    "buzzer.record-start": ("recording started", "开始录像"),
    "buzzer.record-stop": ("recording stopped", "停止录像"),
    "buzzer.pause": ("recording paused", "录像已暂停"),
    "buzzer.resume": ("recording resumed", "录像已恢复"),
    "buzzer.mark": ("marked important", "已标记重点"),
    "buzzer.refused": ("recording refused", "拒绝录像"),
    "buzzer.alert": ("alert", "警示"),
    "prompt.announce": (
        'Say the announcement: "{text}" then press a',
        "请宣读：“{text}”宣读完毕按 a",
    ),
    "prompt.narrate": ("Narrate: {text}; then press n", "{text}；口述完毕按 n"),
    "prompt.reason": (
        "State the reason for the pause ({text}); it is recorded from the microphone; "
        "press d when done",
        "{text}（正在通过麦克风录音），说完按 d",
    ),
    "prompt.other": ("Device: {text}", "提示：{text}"),
    # host/cli/record.py: the recorder's summary
    "record.summary": (
        "recorded {frames} {codec} frames and {sound} into {store}: {entries} ledger "
        "entries, {media_bytes} media bytes; ledger {state}",
        "已录制 {frames} 帧 {codec} 画面，{sound}，存入 {store}：签名日志 {entries} 条，"
        "媒体 {media_bytes} 字节；签名日志校验{state}",
    ),
    "record.sound": ("{count} audio frames", "声音 {count} 帧"),
    "record.no_sound": ("no sound", "无声音"),
    "record.bad_agency": (
        "{path} must hold the agency's 32-byte X25519 public key",
        "{path} 应为单位的 32 字节 X25519 公钥文件",
    ),
    "record.wrong_device": (
        "{path} belongs to device {device}, not {given}",
        "{path} 属于设备 {device}，不是 {given}",
    ),
    "record.public_key": (
        "{path} is a public key; the recorder needs its private key",
        "{path} 是公钥文件；记录仪需要其私钥文件",
    ),
    "record.no_key": (
        "no device key at {path}: pass --device-id to provision one",
        "{path} 处没有设备密钥：请用 --device-id 生成设备密钥",
    ),
    "record.no_store": ("cannot make the store {path}: {why}", "无法创建存储目录 {path}：{why}"),
    "record.keys_and_input": (
        "--keys - and --input - both read standard input: give the key script as a file",
        "--keys - 与 --input - 都要读取标准输入：请把按键脚本写成文件",
    ),
    "record.source_failed": (
        "sealcam record: {problem}; the recording was stopped and is signed up to there",
        "sealcam record：{problem}；录像已停止，此前的内容均已签名",
    ),
    "record.input_ended_early": (
        "sealcam record: the input ended {how} after {frames} frames: the recording was "
        "stopped there and everything before it is signed; check the encoder and its pipe",
        "sealcam record：输入在 {frames} 帧后中断（{how}）：录像已在此停止，此前的内容均已签名；"
        "请检查编码器及其管道",
    ),
    "prompt.no_mic": (
        "no microphone (--mic): the reason cannot be recorded, and the host will flag it",
        "未接麦克风（--mic）：中断原因无法录音，采集站将标记此问题",
    ),
    # acting as a person on the evidence (host.cli.auth)
    "auth.evidence": ("the evidence store directory", "证据库目录"),
    "auth.user": (
        "act as this user (default: ${env}); the password comes from ${password_env}, "
        "else a prompt",
        "以该用户身份操作（默认取 ${env}）；密码取自 ${password_env}，否则在终端提示输入",
    ),
    "auth.no_user": (
        "say who is acting: --user NAME (or set {env})",
        "请指明操作人：--user 用户名（或设置 {env}）",
    ),
    "auth.no_password": (
        "no password: set {env} or run the command on a terminal to be asked for it",
        "未提供密码：请设置 {env}，或在终端中运行本命令以输入密码",
    ),
    "auth.prompt": ("password for {name}: ", "{name} 的密码："),
    "auth.no_store": (
        "{path} is not an evidence store (no evidence.db): check the path; "
        "sealcam enrol or sealcam sync makes a store",
        "{path} 不是证据库（没有 evidence.db）：请检查路径；"
        "证据库由 sealcam enrol 或 sealcam sync 创建",
    ),
    "auth.unsigned": (
        "warning: the host key {path} cannot be used ({problem}): the action is recorded, "
        "and the next checkpoint will sign it",
        "警告：主机密钥 {path} 无法使用（{problem}）：操作已记录，将由下一个检查点签名",
    ),
    # cases, categories and what a recording proves (host.cases, host/cli/case.py)
    "cmd.case": (
        "cases: their recordings, what each proves, and what the footage lacks",
        "案件管理：关联录像、证明对象及录像缺失情况",
    ),
    "cmd.case add": ("open a case", "新建案件"),
    "cmd.case show": ("a case, its recordings and its flags", "查看案件、关联录像及问题标记"),
    "cmd.case list": ("the cases", "案件列表"),
    "cmd.case link": ("link recordings to a case", "将录像关联到案件"),
    "cmd.case unlink": (
        "take a recording out of a case, with the reason",
        "解除录像与案件的关联（须说明理由）",
    ),
    "cmd.case close": ("close a case file", "案件归档结案"),
    "cmd.case check": (
        "the flags of one case or of every case (exit 1: some)",
        "检查一个或全部案件的问题标记（有标记时退出码为 1）",
    ),
    "cmd.item": (
        "a recording's category and what it is meant to prove",
        "录像的分类及证明对象",
    ),
    "cmd.item note": (
        "record a recording's category and what it proves",
        "登记录像的分类及证明对象",
    ),
    "case.description": (
        "Cases and the recordings linked to them. A case type that touches personal liberty, "
        "life and health or major property must be recorded in full: every linked recording "
        "with a pause, missing entries or no announcement is flagged, and so is such a case "
        "without footage; a case whose type requires footage is flagged when it has none.",
        "案件及其关联录像。直接涉及人身自由、生命健康、重大财产权益的案件类型必须全过程音像记录："
        "关联录像中有暂停、记录缺失或未告知录像的，均予以标记，无任何录像的此类案件亦予以标记；"
        "应当音像记录的案件类型没有关联录像的，予以标记。",
    ),
    "item.description": (
        "A recording's category and what it is meant to prove (who noted it and when is kept).",
        "录像的分类及证明对象（同时记录登记人和登记时间）。",
    ),
    "case.opt.number": ("the case number", "案件编号"),
    "case.opt.type": (
        "the case type (the agency's setting case_types)",
        "案件类型（取自本单位设置 case_types）",
    ),
    "case.opt.title": ("what the case is about", "案件名称"),
    "case.opt.responsible": ("the person responsible", "责任人"),
    "case.opt.place": ("where it happened", "发生地点"),
    "case.opt.when": (
        "when it happened: YYYY-MM-DD HH:MM in the agency's time zone",
        "发生时间：YYYY-MM-DD HH:MM（本单位时区）",
    ),
    "case.opt.major": (
        "a major or complex case (its evidence is kept forever)",
        "重大、疑难、复杂案件（其证据永久保存）",
    ),
    "case.opt.json": ("machine-readable output (UTC milliseconds)", "机器可读输出（UTC 毫秒）"),
    "case.opt.list_type": ("only cases of this type", "仅列出该类型的案件"),
    "case.opt.flagged": ("only cases with flags", "仅列出有问题标记的案件"),
    "case.opt.items": ("recordings: DEVICE/N", "录像：设备编号/N"),
    "case.opt.item": ("a recording: DEVICE/N", "一段录像：设备编号/N"),
    "case.opt.reason": ("why it is taken out of the case", "解除关联的理由"),
    "case.opt.check_number": ("one case (default: every case)", "指定案件（默认检查全部案件）"),
    "item.opt.category": ("the category: {categories}", "分类：{categories}"),
    "item.opt.proves": (
        "what the recording is meant to prove",
        "证明对象（该录像用以证明的事项）",
    ),
    "case.what.number": ("a case number", "案件编号"),
    "case.what.title": ("the title", "案件名称"),
    "case.what.responsible": ("the person responsible", "责任人"),
    "case.what.place": ("the place", "发生地点"),
    "case.what.proves": ("what it proves", "证明对象"),
    "case.what.reason": ("the reason", "理由"),
    "case.err.text": (
        "{what} must be 1 to {limit} characters of text without control characters",
        "{what}应为 1 至 {limit} 个字符的文字，且不含控制字符",
    ),
    "case.err.number_spaces": (
        "a case number has no spaces: {number!r}",
        "案件编号不能含空格：{number!r}",
    ),
    "case.err.when": (
        "{text!r} is not a time: give YYYY-MM-DD HH:MM in the agency's time zone ({zone})",
        "{text!r} 不是有效时间：请按 YYYY-MM-DD HH:MM 给出本单位时区（{zone}）的时间",
    ),
    "case.err.type": (
        "{name!r} is not a case type of this agency: give one of {known}",
        "{name!r} 不是本单位的案件类型：请从以下类型中选择：{known}",
    ),
    "case.err.no_case": (
        "there is no case {number} (sealcam case list shows them)",
        "没有案件 {number}（可用 sealcam case list 查看案件列表）",
    ),
    "case.err.exists": (
        "case {number} exists already (sealcam case show {number})",
        "案件 {number} 已存在（可用 sealcam case show {number} 查看）",
    ),
    "case.err.closed": ("case {number} is closed already", "案件 {number} 已结案"),
    "case.err.not_held": (
        "case {number} does not hold {item}",
        "案件 {number} 未关联 {item}",
    ),
    "case.err.category": (
        "{category!r} is not a category: give one of {known}",
        "{category!r} 不是有效分类：请从以下分类中选择：{known}",
    ),
    "case.err.no_note": (
        "{item} has no note yet: give both --category (one of {known}) and --proves",
        "{item} 尚未登记：请同时给出 --category（{known} 之一）和 --proves",
    ),
    "case.err.nothing_to_note": (
        "nothing to note: give --category (one of {known}), --proves, or both",
        "没有要登记的内容：请给出 --category（{known} 之一）、--proves 或两者",
    ),
    "case.added": (
        "case {number} opened: {type}, happened {when}",
        "案件 {number} 已建立：{type}，发生时间 {when}",
    ),
    "case.linked": (
        "case {number}: {count} of {given} recording(s) newly linked",
        "案件 {number}：新关联录像 {count} 段（共给出 {given} 段）",
    ),
    "case.unlinked": (
        "case {number}: {item} taken out (the reason is in the audit trail)",
        "案件 {number}：已解除与 {item} 的关联（理由已记入审计日志）",
    ),
    "case.closed": ("case {number} closed at {when}", "案件 {number} 已于 {when} 结案"),
    "item.noted": (
        "{item}: {category}; proves: {proves} (noted {when})",
        "{item}：{category}；证明对象：{proves}（登记于 {when}）",
    ),
    "case.head": ("Case {number}  {type}{rules}", "案件 {number}  {type}{rules}"),
    "case.rules.list": ("  [{rules}]", "  【{rules}】"),
    "case.rules.sep": ("; ", "；"),
    "case.rules.full": ("must be recorded in full", "必须全过程记录"),
    "case.rules.required": ("footage required", "应当音像记录"),
    "case.rules.permanent": ("kept forever", "永久保存"),
    "case.row": ("  {label} {value}", "  {label} {value}"),
    "case.label.title": ("Title      ", "案件名称"),
    "case.label.responsible": ("Responsible", "责任人  "),
    "case.label.place": ("Place      ", "地点    "),
    "case.label.happened": ("Happened   ", "发生时间"),
    "case.label.opened": ("Opened     ", "立案时间"),
    "case.label.closed": ("Closed     ", "结案时间"),
    "case.label.major": ("Major case ", "重大案件"),
    "case.by": ("{when} by {name}", "{when}（{name}）"),
    "case.open": ("open", "未结案"),
    "case.yes": ("yes", "是"),
    "case.no": ("no", "否"),
    "case.items": ("Recordings: {count}", "关联录像：{count} 段"),
    "case.item": (
        "  {item}  {start} to {end}  officer {officer}",
        "  {item}  {start} 至 {end}  执法人员 {officer}",
    ),
    "case.item_note": (
        "      {category}; proves: {proves} (noted by {name}, {when})",
        "      {category}；证明对象：{proves}（{name} 登记于 {when}）",
    ),
    "case.item_no_note": (
        "      no category or note of what it proves yet",
        "      尚未登记分类和证明对象",
    ),
    "case.flags": ("Flags: {count}", "问题标记：{count} 项"),
    "case.no_flags": ("Flags: none", "问题标记：无"),
    "case.flag.paused": (
        "{rule} {item}: paused at {at} ({reason}), resumed at {resumed}: not recorded in full",
        "{rule} {item}：于 {at} 暂停（{reason}），{resumed} 恢复：未全过程记录",
    ),
    "case.flag.paused_not_resumed": (
        "{rule} {item}: paused at {at} ({reason}) and not resumed: not recorded in full",
        "{rule} {item}：于 {at} 暂停（{reason}）且未恢复：未全过程记录",
    ),
    "case.flag.seq-gap": (
        "{rule} {item}: {count} entries are missing (seq {first} to {last}): not recorded "
        "in full",
        "{rule} {item}：缺失 {count} 条记录（序号 {first} 至 {last}）：未全过程记录",
    ),
    "case.flag.no-announcement": (
        "{rule} {item}: no announcement that recording is under way (started at seq {seq})",
        "{rule} {item}：未告知正在录音录像（自序号 {seq} 开始）",
    ),
    "case.flag.empty-recording": (
        "{rule} {item}: the recording holds no footage",
        "{rule} {item}：该录像没有任何音像内容",
    ),
    "case.flag.no-footage": (
        "{rule} no footage: a case of this type must be recorded in full",
        "{rule} 无录像：此类案件必须全过程音像记录",
    ),
    "case.flag.not-recorded-when-required": (
        "{rule} not recorded when required: no recording is linked",
        "{rule} 应当记录而未记录：没有关联任何录像",
    ),
    "case.list_line": (
        "{number}  {type}  {title}  {when}  {count} item(s){closed}",
        "{number}  {type}  {title}  {when}  {count} 项{closed}",
    ),
    "case.closed_mark": ("  closed", "  已结案"),
    "case.list_count": ("{count} case(s)", "共 {count} 件案件"),
    "case.check_case": ("Case {number}: {count} flag(s)", "案件 {number}：{count} 项问题标记"),
    "case.check_total": (
        "{checked} case(s) checked, {flagged} flagged",
        "已检查 {checked} 件案件，其中 {flagged} 件有问题标记",
    ),
    "case.category.routine": ("routine enforcement", "日常执法"),
    "case.category.evidence": ("evidence", "证据"),
    "case.category.obstruction": ("obstruction of enforcement", "妨碍执法"),
    "case.category.emergency": (
        "major emergency or mass incident",
        "重大突发事件或群体性事件",
    ),
    "case.category.complaint": ("complaint", "投诉"),
    "case.category.training": ("training", "培训"),
    "case.type.detention": (
        "summons, detention or arrest (personal liberty)",
        "传唤、拘留、逮捕（涉及人身自由）",
    ),
    "case.type.search": ("search", "搜查"),
    "case.type.seizure": (
        "sealing up or seizing major property",
        "查封、扣押重大财产",
    ),
    "case.type.injury": (
        "on-scene injury or danger to life (life and health)",
        "现场伤情处置（涉及生命健康）",
    ),
    "case.type.mass-incident": (
        "major emergency or mass incident",
        "处置重大突发事件、群体性事件",
    ),
    "case.type.inspection": ("on-site inspection or random check", "现场检查、随机抽查"),
    "case.type.investigation": ("investigation and evidence-taking", "调查取证"),
    "case.type.preservation": ("preservation of evidence", "证据保全"),
    "case.type.enforcement": ("administrative compulsory measure", "行政强制"),
    "case.type.hearing": ("hearing", "听证"),
    "case.type.service": ("service of enforcement documents", "文书送达"),
    "case.type.traffic": ("traffic enforcement", "交通管理执法"),
    "case.type.administrative": ("general administrative enforcement", "一般行政执法"),
}
