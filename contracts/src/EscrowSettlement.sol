// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EscrowAllowance} from "./EscrowAllowance.sol";

/// @title Batch settlement of the gpu-exchange Escrow
/// @notice The marketplace (SETTLER_ROLE) mirrors its holds with `setHolds` and settles completed jobs in
///         batches with `settle`: one transaction debits clients, credits providers' claimable balances
///         (pull payments) and the protocol fee, and records the Merkle root of the batch's jobs. A client
///         whose balance cannot cover its debit does not fail the batch: its line becomes a debt
///         (DebtRecorded), the credits that line would have paid wait in the debt, and anyone settles it
///         with `payDebt` once the client's free balance covers it. No per-job storage or events: a job is
///         proven against its batch's root with `verifyJob`.
///         Each client entry is covered either by the client's allowance (flagged in `allowanceBits`, lowered
///         at settlement, not challengeable) or by orders the client signed (EIP-712, see EscrowChallenge):
///         their nonces are marked used at settlement (`nonceMarks`), so an order pays for one batch only,
///         and during the challenge window anyone may challenge the entry; the marketplace then has to show
///         the signed orders. With a window, settle commits to the whole batch (BatchCommitted) and
///         requires the settler's bond to be at least `minBond`.
abstract contract EscrowSettlement is EscrowAllowance {
    /// @notice The arguments of `settle`: one batch of completed jobs.
    /// @param batchId settles at most once (BatchAlreadySettled).
    /// @param merkleRoot root of the batch's job leaves; must not be zero.
    /// @param jobCount number of leaves, recorded in the event only.
    /// @param clients and `debits`: what each client entry pays.
    /// @param providers and `credits`: what each provider entry is credited.
    /// @param lines what each client entry pays each provider entry: (clientIndex << 240) |
    ///        (providerIndex << 224) | amount; credits[p] must be the sum of the lines of provider p and a
    ///        client's lines sum to at most its debit (the rest of its debit is the fee), else LinesMismatch.
    /// @param allowanceBits bit i (of word i / 256): client entry i is debited from the client's allowance.
    ///        An entry its allowance does not cover then is settled as an order entry (AllowanceShort).
    /// @param nonceMarks pairs (key, bits): key = (clientIndex << 240) | word, and the order nonces
    ///        word * 256 + b for each set bit b are marked used for that client (NonceReused if already).
    struct Batch {
        uint256 batchId;
        bytes32 merkleRoot;
        uint32 jobCount;
        address[] clients;
        uint256[] debits;
        address[] providers;
        uint256[] credits;
        uint256[] lines;
        uint256[] allowanceBits;
        uint256[] nonceMarks;
    }

    /// @notice One settled job as a batch's Merkle tree records it (see `jobLeaf`).
    struct JobLine {
        bytes32 jobId;
        address client;
        address provider;
        uint256 debit;
        uint256 credit;
        bytes32 resultHash;
        bytes32 orderHash;
    }

    /// @notice What settle recorded beside a batch's arguments; with them it makes the batch's commitment.
    struct Commitment {
        address settler;
        address feeRecipient;
        uint64 settledAt;
    }

    /// @dev A challenge of one client entry of a batch.
    struct Challenge {
        address challenger;
        uint64 deadline;
        ChallengeState state;
    }

    enum ChallengeState {
        None,
        Open,
        Upheld,
        Rejected
    }

    /// @dev A debt's batch, client entry and the time from which it may be paid (its batch is final).
    struct DebtEntry {
        uint64 payableAt;
        uint32 clientIndex;
    }

    /// @dev A settle line: client index (bits 240-255), provider index (bits 224-239), amount (bits 0-223).
    uint256 private constant LINE_AMOUNT_MASK = (1 << 224) - 1;

    mapping(uint256 batchId => bytes32) private _batchRoots;
    /// @notice Debts recorded so far; debt ids are 1..debtCount.
    uint256 public debtCount;
    /// @dev keccak256(abi.encode(batchId, client, amount, providers, credits)) of an open debt; zero once paid.
    mapping(uint256 debtId => bytes32) internal _debts;
    mapping(uint256 debtId => DebtEntry) internal _debtEntries;
    /// @dev debt id + 1 of a client entry that was recorded as a debt (0: it was debited).
    mapping(uint256 batchId => mapping(uint256 clientIndex => uint256)) internal _entryDebts;
    /// @dev keccak256(abi.encode(batch, commitment)) of a batch settled with a window.
    mapping(uint256 batchId => bytes32) internal _batchHashes;
    /// @dev Bits of allowance-flagged client entries that their allowance did not cover.
    mapping(uint256 batchId => mapping(uint256 word => uint256)) internal _uncovered;
    mapping(uint256 batchId => mapping(uint256 clientIndex => Challenge)) internal _challenges;
    mapping(address client => mapping(uint256 word => uint256)) private _usedNonces;
    mapping(address settler => uint256) internal _bonds;
    /// @notice The bond a settler must hold in the escrow to settle (with a window).
    uint256 public minBond;

    event HoldsUpdated(address indexed client, uint256 held);
    event Debited(uint256 indexed batchId, address indexed client, uint256 amount, uint256 newBalance, uint256 newHeld);
    event BatchSettled(
        uint256 indexed batchId, bytes32 merkleRoot, uint32 jobCount, uint256 totalDebited, uint256 totalCredited
    );
    /// @notice A client's line of batch `batchId` that its balance could not cover: it owes `amount`, and
    ///         `providers[k]` is owed `credits[k]` of it (the rest is the fee) once the debt is paid.
    event DebtRecorded(
        uint256 indexed debtId,
        uint256 indexed batchId,
        address indexed client,
        uint256 amount,
        uint256 newDebt,
        address[] providers,
        uint256[] credits
    );
    /// @notice What a challenge needs besides the batch's own arguments (the settle transaction's calldata).
    event BatchCommitted(uint256 indexed batchId, address settler, address feeRecipient, uint64 settledAt, bytes32 dataHash);
    /// @notice An allowance-flagged entry its allowance did not cover: it is an order entry (challengeable).
    event AllowanceShort(uint256 indexed batchId, uint256 clientIndex, address indexed client, uint256 debit);
    event DebtPaid(
        uint256 indexed debtId, uint256 indexed batchId, address indexed client, uint256 amount, uint256 newBalance, uint256 newDebt
    );

    error BatchAlreadySettled(uint256 batchId);
    error EmptyMerkleRoot();
    error UnknownDebt(uint256 debtId);
    error NonceReused(address client, uint256 word);
    error BondTooLow(address settler, uint256 bond, uint256 minBond);
    error DebtNotFinal(uint256 debtId, uint64 payableAt);

    /// @notice Sets absolute held amounts. A hold above the client's balance is clamped to the
    ///         balance (HoldsUpdated carries the stored value), so one client's balance cannot make
    ///         the whole update revert. A client may appear more than once: the last entry wins.
    function setHolds(address[] calldata clients, uint256[] calldata amounts)
        external
        onlyRole(SETTLER_ROLE)
        whenNotPaused
    {
        if (clients.length != amounts.length) revert LengthMismatch();
        for (uint256 i; i < clients.length; ++i) {
            Account storage a = _accounts[clients[i]];
            uint256 held = amounts[i] < a.balance ? amounts[i] : a.balance;
            a.held = uint128(held);
            emit HoldsUpdated(clients[i], held);
        }
    }

    /// @notice Settles a batch of jobs. Debits each client (and lowers its held by the debit, not below
    ///         zero), credits each provider's claimable balance, and credits the protocol fee
    ///         sum(debits) - sum(credits) to the fee recipient's claimable balance. A client whose balance
    ///         is below its debit is not debited: its line becomes a debt (DebtRecorded) that holds the
    ///         credits its `lines` name, the providers are credited the rest, and every other line settles.
    /// @dev Leaves are `jobLeaf`s in a sorted-pair keccak256 tree (OpenZeppelin MerkleProof). The
    ///      contract does not check the leaves against the debits and credits (a challenge does); it checks
    ///      the lines against both. Repeated addresses are allowed (each entry applies in order).
    ///      The batch's fields are described at `Batch`.
    function settle(Batch calldata b) external onlyRole(SETTLER_ROLE) whenNotPaused {
        if (b.clients.length != b.debits.length || b.providers.length != b.credits.length) revert LengthMismatch();
        if (b.merkleRoot == bytes32(0)) revert EmptyMerkleRoot();
        uint256 batchId = b.batchId;
        if (_batchRoots[batchId] != bytes32(0)) revert BatchAlreadySettled(batchId);
        _batchRoots[batchId] = b.merkleRoot;
        _checkLines(b);
        _markNonces(b);
        if (challengeWindow != 0) _commit(b);

        (uint256 totalDebited, uint256[] memory deferred) = _debit(b);
        uint256 totalCredited = _credit(batchId, b.providers, b.credits, deferred, false);
        if (totalDebited != totalCredited) _creditFee(batchId, totalDebited - totalCredited, false);
        emit BatchSettled(batchId, b.merkleRoot, b.jobCount, totalDebited, totalCredited);
    }

    /// @dev Records the batch's commitment; the settler must hold the minimum bond.
    function _commit(Batch calldata b) private {
        uint256 bond = _bonds[msg.sender];
        if (bond < minBond) revert BondTooLow(msg.sender, bond, minBond);
        Commitment memory c = Commitment(msg.sender, feeRecipient, uint64(block.timestamp));
        bytes32 dataHash = batchHash(b, c);
        _batchHashes[b.batchId] = dataHash;
        emit BatchCommitted(b.batchId, c.settler, c.feeRecipient, c.settledAt, dataHash);
    }

    /// @dev The hash a batch settled with a window is committed to: keccak256(abi.encode(b, c)) (BatchCommitted).
    function batchHash(Batch calldata b, Commitment memory c) internal pure returns (bytes32) {
        return keccak256(abi.encode(b, c));
    }

    /// @dev Each provider's credit is the sum of its lines; a client's lines sum to at most its debit.
    function _checkLines(Batch calldata b) private pure {
        uint256[] calldata lines = b.lines;
        uint256[] memory byProvider = new uint256[](b.providers.length);
        uint256[] memory byClient = new uint256[](b.clients.length);
        for (uint256 k; k < lines.length; ++k) {
            uint256 line = lines[k];
            uint256 c = line >> 240;
            uint256 p = (line >> 224) & 0xffff;
            if (c >= byClient.length || p >= byProvider.length) revert LinesMismatch();
            uint256 amount = line & LINE_AMOUNT_MASK;
            byProvider[p] += amount;
            byClient[c] += amount;
        }
        for (uint256 p; p < byProvider.length; ++p) {
            if (byProvider[p] != b.credits[p]) revert LinesMismatch();
        }
        for (uint256 c; c < byClient.length; ++c) {
            if (byClient[c] > b.debits[c]) revert LinesMismatch();
        }
    }

    /// @dev Marks the batch's order nonces used; a nonce already used reverts the batch (settler's error).
    function _markNonces(Batch calldata b) private {
        uint256[] calldata marks = b.nonceMarks;
        if (marks.length % 2 != 0) revert LengthMismatch();
        for (uint256 k; k < marks.length; k += 2) {
            uint256 key = marks[k];
            uint256 c = key >> 240;
            if (c >= b.clients.length) revert LinesMismatch();
            address client = b.clients[c];
            uint256 word = uint64(key);
            uint256 used = _usedNonces[client][word];
            if (used & marks[k + 1] != 0) revert NonceReused(client, word);
            _usedNonces[client][word] = used | marks[k + 1];
        }
    }

    /// @notice Whether `client`'s order nonce has been settled (an order pays for one batch only).
    function isNonceUsed(address client, uint256 nonce) external view returns (bool) {
        return (_usedNonces[client][nonce >> 8] >> (nonce & 0xff)) & 1 == 1;
    }

    /// @dev Whether bit i of `bits` (a bitmap over words) is set.
    function _bit(uint256[] calldata bits, uint256 i) internal pure returns (bool) {
        uint256 w = i >> 8;
        return w < bits.length && (bits[w] >> (i & 0xff)) & 1 == 1;
    }

    /// @dev `deferred[p]`: what provider entry p is not credited now (it waits in debts); empty when no
    ///      client was short.
    function _debit(Batch calldata b) private returns (uint256 total, uint256[] memory deferred) {
        uint256 batchId = b.batchId;
        address[] calldata clients = b.clients;
        uint256[] calldata debits = b.debits;
        for (uint256 i; i < clients.length; ++i) {
            address client = clients[i];
            uint256 debit = debits[i];
            if (_bit(b.allowanceBits, i) && !_useAllowance(client, debit)) {
                _uncovered[batchId][i >> 8] |= 1 << (i & 0xff);
                emit AllowanceShort(batchId, i, client, debit);
            }
            Account storage a = _accounts[client];
            Account memory m = a;
            if (debit > m.balance) {
                if (deferred.length == 0) deferred = new uint256[](b.providers.length);
                _recordDebt(b, i, deferred);
                continue;
            }
            uint128 newBalance = m.balance - uint128(debit);
            uint128 newHeld = m.held > debit ? m.held - uint128(debit) : 0;
            a.balance = newBalance;
            a.held = newHeld;
            total += debit;
            emit Debited(batchId, client, debit, newBalance, newHeld);
        }
    }

    /// @dev The short client's line as a debt: its lines' credits move from the batch into the debt.
    function _recordDebt(Batch calldata b, uint256 clientIndex, uint256[] memory deferred) private {
        uint256[] calldata lines = b.lines;
        address[] calldata providers = b.providers;
        uint256 count;
        for (uint256 k; k < lines.length; ++k) {
            if (lines[k] >> 240 == clientIndex) ++count;
        }
        address[] memory owedTo = new address[](count);
        uint256[] memory owed = new uint256[](count);
        uint256 n;
        for (uint256 k; k < lines.length; ++k) {
            uint256 line = lines[k];
            if (line >> 240 != clientIndex) continue;
            uint256 p = (line >> 224) & 0xffff;
            uint256 amount = line & LINE_AMOUNT_MASK;
            deferred[p] += amount;
            owedTo[n] = providers[p];
            owed[n] = amount;
            ++n;
        }
        uint256 debtId = _openDebt(b.batchId, b.clients[clientIndex], b.debits[clientIndex], owedTo, owed);
        if (challengeWindow != 0) {
            _entryDebts[b.batchId][clientIndex] = debtId + 1;
            _debtEntries[debtId] = DebtEntry(uint64(block.timestamp) + challengeWindow, uint32(clientIndex));
        }
    }

    function _openDebt(uint256 batchId, address client, uint256 debit, address[] memory owedTo, uint256[] memory owed)
        private
        returns (uint256 debtId)
    {
        debtId = ++debtCount;
        _debts[debtId] = keccak256(abi.encode(batchId, client, debit, owedTo, owed));
        uint256 newDebt = _debtOf[client] + debit;
        _debtOf[client] = newDebt;
        emit DebtRecorded(debtId, batchId, client, debit, newDebt, owedTo, owed);
    }

    /// @notice Pays open debt `debtId` from the client's free balance (balance - held): the client's
    ///         balance drops by `amount`, the providers the debt names are credited what it owes them, and
    ///         the fee recipient the rest (claimable at once). Anyone may call it; the arguments are those of
    ///         its DebtRecorded. With a window, only once its batch's window has passed (DebtNotFinal) and
    ///         while no challenge of its entry is open (DebtNotFinal); an upheld challenge cancels the debt.
    function payDebt(
        uint256 debtId,
        uint256 batchId,
        address client,
        uint256 amount,
        address[] calldata providers,
        uint256[] calldata credits
    ) external whenNotPaused {
        bytes32 recorded = _debts[debtId];
        if (recorded == bytes32(0) || recorded != keccak256(abi.encode(batchId, client, amount, providers, credits))) {
            revert UnknownDebt(debtId);
        }
        if (challengeWindow != 0) {
            DebtEntry memory e = _debtEntries[debtId];
            if (block.timestamp < e.payableAt || _challenges[batchId][e.clientIndex].state == ChallengeState.Open) {
                revert DebtNotFinal(debtId, e.payableAt);
            }
        }
        Account storage a = _accounts[client];
        Account memory m = a;
        uint256 free = uint256(m.balance) - m.held;
        if (amount > free) revert InsufficientFreeBalance(client, free, amount);
        delete _debts[debtId];
        uint128 newBalance = m.balance - uint128(amount);
        a.balance = newBalance;
        uint256 newDebt = _debtOf[client] - amount;
        _debtOf[client] = newDebt;
        emit DebtPaid(debtId, batchId, client, amount, newBalance, newDebt);
        uint256 credited = _credit(batchId, providers, credits, new uint256[](0), true);
        if (amount != credited) _creditFee(batchId, amount - credited, true);
    }

    // ------------------------------------------------------------------ views

    /// @notice Whether debt `debtId` was recorded and is not paid yet.
    function isDebtOpen(uint256 debtId) external view returns (bool) {
        return _debts[debtId] != bytes32(0);
    }

    /// @notice The Merkle root a settled batch recorded; zero when the batch is not settled.
    function batchRoot(uint256 batchId) external view returns (bytes32) {
        return _batchRoots[batchId];
    }

    function isSettled(uint256 batchId) external view returns (bool) {
        return _batchRoots[batchId] != bytes32(0);
    }

    /// @notice A job's leaf: keccak256(abi.encode(jobId, client, provider, debit, credit, resultHash, orderHash)),
    ///         where debit is what the client pays for it, credit what the provider is credited and orderHash
    ///         the EIP-712 digest of the client's signed order (zero for an allowance-covered job). The
    ///         preimage is 224 bytes and an inner node's 64, so a leaf cannot pass for an inner node.
    function jobLeaf(JobLine calldata j) public pure returns (bytes32) {
        return keccak256(abi.encode(j.jobId, j.client, j.provider, j.debit, j.credit, j.resultHash, j.orderHash));
    }

    /// @notice Whether job `j` is in settled batch `batchId`, given its sorted-pair Merkle proof.
    function verifyJob(uint256 batchId, JobLine calldata j, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _batchRoots[batchId];
        if (root == bytes32(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, jobLeaf(j));
    }
}
