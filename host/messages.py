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
    # restricted footage and approvals (host.restricted, host.cli.approve, sealcam export)
    "cmd.restrict": (
        "mark footage as holding state secrets, trade secrets or private matters",
        "将录像标记为涉及国家秘密、商业秘密或个人隐私",
    ),
    "cmd.approval": (
        "approvals to play, export, share, lend or publish restricted footage",
        "受限录像播放、导出、对外提供、借出或公开发布的审批",
    ),
    "cmd.approval request": (
        "ask for an approval to act on restricted footage",
        "申请对受限录像进行操作的审批",
    ),
    "cmd.approval grant": ("grant a request (an approver)", "批准申请（审批人）"),
    "cmd.approval refuse": ("refuse a request, saying why", "驳回申请并说明理由"),
    "cmd.approval revoke": ("end an approval in force now", "立即撤销有效的审批"),
    "cmd.approval list": ("list approvals and requests", "列出审批及申请"),
    "cmd.approval attempts": (
        "refused attempts at restricted footage: possible leaking (exit 1 when any)",
        "访问受限录像被拒绝的记录：可能的泄密（有记录时退出码为 1）",
    ),
    "restrict.kind_state_secret": ("state secrets", "国家秘密"),
    "restrict.kind_trade_secret": ("trade secrets", "商业秘密"),
    "restrict.kind_private": ("private matters", "个人隐私"),
    "restrict.opt_item": (
        "the item: DEVICE/N (a recording) or DEVICE/N~HEX (a derivative)",
        "证据项：DEVICE/N（录像）或 DEVICE/N~HEX（衍生文件）",
    ),
    "restrict.opt_kind": ("what it holds: {kinds}", "所涉内容：{kinds}"),
    "restrict.opt_reason": (
        "why (it goes into the audit trail)",
        "原因（记入审计日志）",
    ),
    "restrict.opt_lift": ("lift the restriction instead", "改为解除限制"),
    "restrict.no_kind": (
        "say what it holds: --kind {kinds} (or --lift to lift a restriction)",
        "请说明所涉内容：--kind {kinds}（解除限制请用 --lift）",
    ),
    "restrict.bad_kind": (
        "{kind} is not a kind of restriction: give one of {kinds}",
        "{kind} 不是限制类别：请给出 {kinds} 之一",
    ),
    "restrict.no_reason": (
        "give the reason: --reason TEXT (it goes into the audit trail)",
        "请说明原因：--reason 文字（将记入审计日志）",
    ),
    "restrict.lift_origin": (
        "{item} is restricted through its original {origin}: lift the restriction of {origin}",
        "{item} 因其原始录像 {origin} 受限：请解除 {origin} 的限制",
    ),
    "restrict.not_restricted": (
        "{item} is not restricted: there is nothing to lift",
        "{item} 未受限：无需解除",
    ),
    "restrict.refusal": (
        "{item} holds {kind} and is restricted: to {doing} it, {user} needs an approval from "
        "a user with the role {role} ({approvers}); ask for one with sealcam approval request "
        "{item} --action {action} --purpose TEXT --until DATE",
        "{item} 涉及{kind}，已受限：{user} 要{doing}该录像，须经角色为 {role} 的用户审批"
        "（{approvers}）；请用 sealcam approval request {item} --action {action} "
        "--purpose 用途 --until 日期 申请",
    ),
    "restrict.no_approvers": (
        "the store has no approver yet: an administrator adds one",
        "证据库尚无审批人：请管理员添加",
    ),
    "restrict.marked": (
        "{item} is restricted now ({kind}): playing, exporting, sharing, lending or "
        "publishing it needs an approval (sealcam approval request)",
        "{item} 现已受限（{kind}）：播放、导出、对外提供、借出或公开发布均须审批"
        "（sealcam approval request）",
    ),
    "restrict.lifted": (
        "the restriction of {item} ({kind}) is lifted",
        "{item} 的限制（{kind}）已解除",
    ),
    "approval.action_play": ("play", "播放"),
    "approval.action_export": ("export", "导出"),
    "approval.action_share": ("share", "对外提供"),
    "approval.action_lend": ("lend", "借出"),
    "approval.action_publish": ("publish", "公开发布"),
    "approval.state_pending": ("pending", "待审批"),
    "approval.state_approved": ("in force", "有效"),
    "approval.state_ended": ("ended", "已到期"),
    "approval.state_refused": ("refused", "已驳回"),
    "approval.state_revoked": ("revoked", "已撤销"),
    "approval.opt_id": (
        "the approval's number (sealcam approval list)",
        "审批编号（见 sealcam approval list）",
    ),
    "approval.opt_action": ("what is to be done: {actions}", "拟进行的操作：{actions}"),
    "approval.opt_purpose": ("what it is for", "用途"),
    "approval.opt_until": (
        "until when: YYYY-MM-DD (to the end of that day) or YYYY-MM-DD HH:MM, in the "
        "agency's time zone",
        "截止时间：YYYY-MM-DD（至当日结束）或 YYYY-MM-DD HH:MM，按机构时区",
    ),
    "approval.opt_grant_until": (
        "grant it for a shorter time than asked for (a date as for request --until)",
        "批准期限短于申请期限（日期格式同 request --until）",
    ),
    "approval.opt_refuse_reason": ("why it is refused", "驳回理由"),
    "approval.opt_revoke_reason": ("why it is revoked", "撤销理由"),
    "approval.opt_pending": ("only requests awaiting a decision", "仅列出待审批的申请"),
    "approval.opt_since": (
        "only attempts from this date on (YYYY-MM-DD or YYYY-MM-DD HH:MM, the agency's time zone)",
        "仅列出该时间之后的记录（YYYY-MM-DD 或 YYYY-MM-DD HH:MM，按机构时区）",
    ),
    "approval.opt_json": ("print JSON (times in UTC milliseconds)", "输出 JSON（时间为 UTC 毫秒）"),
    "approval.bad_id": (
        "give the approval's number (sealcam approval list shows them), not {text}",
        "请给出审批编号（见 sealcam approval list），而不是 {text}",
    ),
    "approval.bad_date": (
        "{text} is not a date: give YYYY-MM-DD or YYYY-MM-DD HH:MM, in the agency's time "
        "zone ({zone})",
        "{text} 不是日期：请按 YYYY-MM-DD 或 YYYY-MM-DD HH:MM 给出（机构时区 {zone}）",
    ),
    "approval.no_such": (
        "there is no approval {id}: sealcam approval list shows them",
        "没有编号为 {id} 的审批：可用 sealcam approval list 查看",
    ),
    "approval.bad_action": (
        "{action} needs no approval: give one of {actions}",
        "{action} 无需审批：请给出 {actions} 之一",
    ),
    "approval.no_purpose": ("say what it is for: --purpose TEXT", "请说明用途：--purpose 文字"),
    "approval.until_past": (
        "that end has passed already: give a later --until",
        "该截止时间已过：请给出更晚的 --until",
    ),
    "approval.not_needed": (
        "{item} is not restricted: to {doing} it needs no approval",
        "{item} 未受限：{doing}无需审批",
    ),
    "approval.not_pending": (
        "approval {id} is {state}, not awaiting a decision: a new request is needed",
        "审批 {id} 的状态为{state}，不在待审批状态：须重新申请",
    ),
    "approval.own_request": (
        "approval {id} is your own request: another approver must decide it",
        "审批 {id} 是您本人的申请：须由其他审批人决定",
    ),
    "approval.until_longer": (
        "an approver may shorten the time asked for in request {id}, not lengthen it",
        "审批人可以缩短申请 {id} 的期限，但不能延长",
    ),
    "approval.lapsed": (
        "the time asked for in request {id} has passed: a new request is needed",
        "申请 {id} 的期限已过：须重新申请",
    ),
    "approval.no_refuse_reason": (
        "say why it is refused: --reason TEXT",
        "请说明驳回理由：--reason 文字",
    ),
    "approval.not_in_force": (
        "approval {id} is {state}, not in force: only an approval in force can be revoked",
        "审批 {id} 的状态为{state}，并非有效：只有有效的审批可以撤销",
    ),
    "approval.requested": (
        "approval request {id}: {user} asks to {doing} {item} until {until}, for: {purpose}; "
        "an approver decides it (sealcam approval grant {id}, or refuse {id})",
        "审批申请 {id}：{user} 申请{doing} {item}，至 {until}，用途：{purpose}；"
        "由审批人决定（sealcam approval grant {id} 或 refuse {id}）",
    ),
    "approval.granted": (
        "approval {id} granted by {approver}: {user} may {doing} {item} until {until}, "
        "for: {purpose}",
        "审批 {id} 已由 {approver} 批准：{user} 可{doing} {item}，至 {until}，用途：{purpose}",
    ),
    "approval.refused": (
        "approval request {id} refused by {approver}: {reason}",
        "审批申请 {id} 已被 {approver} 驳回：{reason}",
    ),
    "approval.revoked": (
        "approval {id} revoked by {approver}: {user} may no longer {doing} {item}",
        "审批 {id} 已被 {approver} 撤销：{user} 不能再{doing} {item}",
    ),
    "approval.row": (
        "{id}  {state}  {item}  {doing}  for {user}  until {until}  purpose: {purpose}  "
        "(asked {asked}){decided}",
        "{id}  {state}  {item}  {doing}  申请人 {user}  至 {until}  用途：{purpose}  "
        "（申请于 {asked}）{decided}",
    ),
    "approval.by_granted": ("; granted by {who} at {when}", "；{who} 于 {when} 批准"),
    "approval.by_refused": (
        "; refused by {who} at {when}: {note}",
        "；{who} 于 {when} 驳回：{note}",
    ),
    "approval.by_revoked": ("; revoked by {who} at {when}", "；{who} 于 {when} 撤销"),
    "approval.by_revoked_note": (
        "; revoked by {who} at {when}: {note}",
        "；{who} 于 {when} 撤销：{note}",
    ),
    "approval.none": ("no approvals", "没有审批记录"),
    "approval.none_pending": ("no request awaits a decision", "没有待审批的申请"),
    "approval.attempt": (
        "{when}  {actor} tried to {doing} {item}: refused ({reason})",
        "{when}  {actor} 试图{doing} {item}：被拒绝（{reason}）",
    ),
    "approval.since_date": ("since {date}", "自 {date} 以来"),
    "approval.since_ever": ("in the whole audit trail", "在全部审计日志中"),
    "approval.attempts_none": (
        "no refused attempt at restricted footage {since}",
        "{since}，没有访问受限录像被拒绝的记录",
    ),
    "approval.attempts_found": (
        "{count} refused attempt(s) at restricted footage {since}: possible leaking, to be "
        "looked into (R-HOST-10)",
        "{since}，共有 {count} 次访问受限录像被拒绝：可能存在泄密，须核查（R-HOST-10）",
    ),
    "export.opt_user": (
        "export as this user (a store with accounts needs one; default: ${env}); the "
        "password comes from ${password_env}, else a prompt",
        "以该用户身份导出（有账户的证据库必须指定；默认取 ${env}）；密码取自 "
        "${password_env}，否则在终端提示输入",
    ),
    "export.derivative": (
        "  registered as item {id}: a derivative of {origin} (file SHA-256 {sha}); the "
        "export is in the audit trail",
        "  已登记为证据项 {id}：{origin} 的衍生文件（文件 SHA-256 {sha}）；导出已记入审计日志",
    ),
    "export.extractor_mismatch": (
        "--extractor {given} is not {user}, who is logged in: the extractor of an export "
        "is the user making it (leave --extractor out)",
        "--extractor {given} 与登录用户 {user} 不符：导出的提取人即进行导出的用户"
        "（请省略 --extractor）",
    ),
    "export.no_extractor": (
        "name the person extracting the footage (R-HOST-4): --extractor NAME, or --user "
        "NAME on a store with accounts",
        "请写明提取人（R-HOST-4）：--extractor 姓名；有账户的证据库请用 --user 用户名",
    ),
}
